import { normalizeUserIdList } from './user-id-list';

describe('normalizeUserIdList', () => {
  it('returns the ids in their canonical form, in the order given', () => {
    expect(normalizeUserIdList([7, 'bob', 0, 'a.b-c_d'], 10)).toEqual({
      ok: true,
      userIds: ['7', 'bob', '0', 'a.b-c_d'],
    });
  });

  it('takes exactly max ids, and refuses one more by its count alone', () => {
    expect(normalizeUserIdList([1, 2, 3], 3)).toMatchObject({ ok: true });
    expect(normalizeUserIdList([1, 2, 3, 'not an id'], 3)).toEqual({
      ok: false,
      reason: 'user_ids lists 4 users; at most 3 (MAX_RECIPIENTS)',
    });
  });

  it.each([
    ['not a list', 'a,b', 'user_ids must be a list of 1 to 5 user ids'],
    ['null', null, 'user_ids must be a list of 1 to 5 user ids'],
    ['an array-like object', { 0: 1, length: 1 }, 'user_ids must be a list of 1 to 5 user ids'],
    ['empty', [], 'user_ids must not be empty'],
    [
      'a negative id',
      [1, -2],
      'user_ids[1] must be a non-negative integer or a string of 1-64 characters from [A-Za-z0-9_.-]',
    ],
    [
      'a nested list',
      [[1]],
      'user_ids[0] must be a non-negative integer or a string of 1-64 characters from [A-Za-z0-9_.-]',
    ],
    [
      'an id that names two groups',
      ['1 2'],
      'user_ids[0] must be a non-negative integer or a string of 1-64 characters from [A-Za-z0-9_.-]',
    ],
    ['a repeated id', [1, 2, 1], 'user_ids[2] repeats user 1 (user_ids[0])'],
    ['the same user as number and string', [3, '3'], 'user_ids[1] repeats user 3 (user_ids[0])'],
  ])('refuses a list that is %s, saying why', (_, value, reason) => {
    expect(normalizeUserIdList(value, 5)).toEqual({ ok: false, reason });
  });
});
