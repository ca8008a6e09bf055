import { ValidationPipe } from '@nestjs/common';
import type { ArgumentMetadata } from '@nestjs/common';
import { ListInboxQuery, NotificationIdParam } from './inbox.dto';

const pipe = new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true });
const parse = <T>(metatype: new () => T, type: ArgumentMetadata['type'], value: Record<string, string>) =>
  pipe.transform(value, { type, metatype }) as Promise<T>;
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: { getResponse(): { statusCode: number; message: string[] } }) => error.getResponse(),
  );

const MAX_ID = String(Number.MAX_SAFE_INTEGER);
/** Not a whole number a client could hold as a notification id: too big for a double, negative, a fraction, another notation. */
const NOT_IDS = ['1e21', '99999999999999999999', '9007199254740992', '-1', '1.5', '0x10', '1e3', ' 5', '', 'five'];

describe('ListInboxQuery', () => {
  it('takes ids up to Number.MAX_SAFE_INTEGER', async () => {
    expect(await parse(ListInboxQuery, 'query', { after: MAX_ID })).toMatchObject({ after: Number.MAX_SAFE_INTEGER });
    expect(await parse(ListInboxQuery, 'query', { before: MAX_ID, limit: '200' })).toMatchObject({
      before: Number.MAX_SAFE_INTEGER,
      limit: 200,
    });
    expect(await parse(ListInboxQuery, 'query', { after: '0' })).toMatchObject({ after: 0 });
  });

  it.each(['after', 'before', 'limit'].flatMap((name) => NOT_IDS.map((value) => [name, value])))(
    'refuses %s=%j with 400 naming it',
    async (name, value) => {
      const error = await refusal(parse(ListInboxQuery, 'query', { [name]: value }));
      expect(error?.statusCode).toBe(400);
      expect(error?.message).toEqual([expect.stringContaining(name)]);
    },
  );

  it.each([
    ['before', '0'],
    ['limit', '0'],
    ['limit', '201'],
  ])('refuses %s=%s, out of its range', async (name, value) => {
    expect((await refusal(parse(ListInboxQuery, 'query', { [name]: value })))?.message).toEqual([
      expect.stringContaining(name),
    ]);
  });
});

describe('NotificationIdParam', () => {
  it('takes ids from 1 up to Number.MAX_SAFE_INTEGER', async () => {
    expect(await parse(NotificationIdParam, 'param', { id: MAX_ID })).toEqual({ id: Number.MAX_SAFE_INTEGER });
    expect(await parse(NotificationIdParam, 'param', { id: '1' })).toEqual({ id: 1 });
  });

  it.each([...NOT_IDS, '0'])('refuses id=%j with 400 naming it', async (value) => {
    const error = await refusal(parse(NotificationIdParam, 'param', { id: value }));
    expect(error?.statusCode).toBe(400);
    expect(error?.message).toEqual([expect.stringContaining('id')]);
  });
});
