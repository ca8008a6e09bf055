import { MAX_READ_IDS } from '@app/contracts';
import { parseReadRequest, parseSince } from './client-requests';

/** What clients may send as an id, from `?since=`, a `resume` frame or a `read` frame. */
const NOT_IDS: unknown[] = [
  1e21,
  '1e21',
  '99999999999999999999',
  9007199254740992,
  '9007199254740992',
  -1,
  '-1',
  1.5,
  '1.5',
  '0x10',
  '',
  ' 5',
  null,
  true,
  [1],
  { id: 1 },
];

describe('parseSince (the ?since= query and the resume frame)', () => {
  it('takes whole numbers from 0 to Number.MAX_SAFE_INTEGER, as a number or in decimal digits', () => {
    expect(parseSince(0)).toEqual({ since: 0 });
    expect(parseSince('0')).toEqual({ since: 0 });
    expect(parseSince('42')).toEqual({ since: 42 });
    expect(parseSince(Number.MAX_SAFE_INTEGER)).toEqual({ since: Number.MAX_SAFE_INTEGER });
    expect(parseSince(String(Number.MAX_SAFE_INTEGER))).toEqual({ since: Number.MAX_SAFE_INTEGER });
  });

  it('is null when absent', () => {
    expect(parseSince(undefined)).toEqual({ since: null });
    expect(parseSince(null)).toEqual({ since: null });
  });

  it.each(NOT_IDS.filter((value) => value !== null))('refuses %j with a message naming since', (value) => {
    expect(parseSince(value)).toEqual({ error: expect.stringContaining('since') });
  });
});

describe('parseReadRequest (the read and ack frames)', () => {
  it('takes ids from 1 to Number.MAX_SAFE_INTEGER, or all', () => {
    expect(parseReadRequest({ ids: [1, Number.MAX_SAFE_INTEGER] })).toEqual({
      all: false,
      ids: [1, Number.MAX_SAFE_INTEGER],
    });
    expect(parseReadRequest({ id: 7 })).toEqual({ all: false, ids: [7] });
    expect(parseReadRequest({ all: true })).toEqual({ all: true });
  });

  it.each([...NOT_IDS, 0, '7'])('refuses the id %j, alone or among good ones', (value) => {
    expect(parseReadRequest({ id: value })).toEqual({ error: expect.stringContaining('ids') });
    expect(parseReadRequest({ ids: [1, value, 2] })).toEqual({ error: expect.stringContaining('ids') });
  });

  it(`refuses no ids and more than ${MAX_READ_IDS}`, () => {
    expect(parseReadRequest({ ids: [] })).toHaveProperty('error');
    expect(parseReadRequest({ ids: Array.from({ length: MAX_READ_IDS + 1 }, (_, i) => i + 1) })).toHaveProperty(
      'error',
    );
    expect(parseReadRequest(null)).toHaveProperty('error');
  });
});
