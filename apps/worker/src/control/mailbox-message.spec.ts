import { isAddressedTo } from './mailbox-message';

describe('isAddressedTo (kombu Node.handle_message)', () => {
  const node = 'celery@web-1';

  it('runs a broadcast with no destination or an empty one', () => {
    expect(isAddressedTo({ method: 'ping' }, node)).toBe(true);
    expect(isAddressedTo({ method: 'ping', destination: [] }, node)).toBe(true);
    expect(isAddressedTo({ method: 'ping', destination: null, pattern: null, matcher: null }, node)).toBe(true);
  });

  it('runs a message naming this node, and not one naming others', () => {
    expect(isAddressedTo({ method: 'ping', destination: ['celery@web-2', node] }, node)).toBe(true);
    expect(isAddressedTo({ method: 'ping', destination: ['celery@web-2'] }, node)).toBe(false);
  });

  it.each([
    ['glob', 'celery@web-*', true],
    ['glob', 'celery@web-[12]', true],
    ['glob', 'celery@web-[!1]', false],
    ['glob', 'celery@web-?', true],
    ['glob', 'celery@web', false],
    ['glob', 'celery.web-1', false],
    ['pcre', 'celery@web', true],
    ['pcre', 'web', false],
    ['pcre', '(', false],
    ['unknown', '.*', false],
  ])('matches %s %s: %s', (matcher, pattern, expected) => {
    expect(isAddressedTo({ method: 'ping', pattern, matcher }, node)).toBe(expected);
  });
});
