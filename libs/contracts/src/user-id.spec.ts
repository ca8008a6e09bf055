import { notificationGroup } from './notification-group';
import { normalizeUserId } from './user-id';

describe('normalizeUserId', () => {
  it.each([
    [42, '42'],
    [0, '0'],
    ['42', '42'],
    ['alice.smith-2_b', 'alice.smith-2_b'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeUserId(input)).toBe(expected);
  });

  it.each([
    -1,
    1.5,
    Number.MAX_SAFE_INTEGER + 1,
    NaN,
    '',
    'a b',
    'a*',
    'x'.repeat(65),
    '42\n',
    null,
    undefined,
    {},
    [1],
    true,
  ])('refuses %j', (input) => {
    expect(normalizeUserId(input)).toBeNull();
  });

  it('names the group as the Channels consumer did', () => {
    expect(notificationGroup('42')).toBe('Notifications_42');
  });
});
