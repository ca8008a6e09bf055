import { pythonRepr } from './python-repr';

describe('pythonRepr', () => {
  it.each([
    [null, 'None'],
    [true, 'True'],
    [false, 'False'],
    [42, '42'],
    [1.5, '1.5'],
    ['hi', "'hi'"],
    ["it's", '"it\'s"'],
    ['a\'b"c', "'a\\'b\"c'"],
    ['line\nbreak\\', "'line\\nbreak\\\\'"],
    ['\u0001', "'\\x01'"],
    [[1, 'x', null], "[1, 'x', None]"],
    [{ notification_id: 5, group: 'Notifications_42' }, "{'notification_id': 5, 'group': 'Notifications_42'}"],
  ])('prints %j as Python does', (value, expected) => {
    expect(pythonRepr(value)).toBe(expected);
  });
});
