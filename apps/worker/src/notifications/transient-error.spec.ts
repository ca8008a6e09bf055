import { isTransientError } from './transient-error';

describe('isTransientError', () => {
  it.each([
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('could not serialize access'), { code: '40001' }),
    Object.assign(new Error('no partition of relation "notification_inbox" found for row'), { code: '23514' }),
    new Error('Connection terminated unexpectedly'),
    new Error('Connection is closed.'),
    new Error('Reached the max retries per request limit (which is 20).'),
  ])('retries %s', (error) => {
    expect(isTransientError(error)).toBe(true);
  });

  it.each([
    Object.assign(new Error('value too long for type character varying(255)'), { code: '22001' }),
    Object.assign(new Error('invalid input syntax for type json'), { code: '22P02' }),
    Object.assign(new Error('new row violates check constraint "positive"'), { code: '23514' }),
    new TypeError("Cannot read properties of undefined (reading 'id')"),
  ])('gives up on %s', (error) => {
    expect(isTransientError(error)).toBe(false);
  });
});
