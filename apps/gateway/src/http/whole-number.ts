import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy } from 'class-validator';

/** Plain decimal digits, no longer than Number.MAX_SAFE_INTEGER's 16. */
const DECIMAL_DIGITS = /^\d{1,16}$/;

/**
 * A whole number from the query string or the path, written in plain decimal digits, from `min`
 * to `max` (at most Number.MAX_SAFE_INTEGER); anything else is a 400 naming the parameter.
 * `Number()` alone would take `1e21`, `0x10`, `1.0` and `""`, and an id past the safe range cannot
 * be held exactly by a client nor compared as a bigint by Postgres.
 */
export function WholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => (typeof value === 'string' && DECIMAL_DIGITS.test(value) ? Number(value) : value)),
    ValidateBy({
      name: 'isWholeNumber',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) =>
          Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max,
        defaultMessage: (args) => `${args?.property} must be a whole number from ${min} to ${max}`,
      },
    }),
  );
}
