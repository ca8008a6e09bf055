import { ValidateBy } from 'class-validator';

/**
 * A body field that may hold any JSON value, null, false and 0 included, as the worker takes a
 * message: only a missing one is a 400 (`<field> is required (any JSON value)`).
 */
export function AnyJsonValue(): PropertyDecorator {
  return ValidateBy({
    name: 'isPresent',
    validator: {
      validate: (value: unknown) => value !== undefined,
      defaultMessage: (args) => `${args?.property} is required (any JSON value)`,
    },
  });
}
