import { bindSendNotificationArguments } from './send-notification.signature';

const bind = (args: unknown[], kwargs: Record<string, unknown> = {}) =>
  bindSendNotificationArguments('send_notification_task', args, kwargs);

describe('bindSendNotificationArguments', () => {
  it.each([
    [[42, 'hi'], {}],
    [[42], { message: 'hi' }],
    [[], { user_id: 42, message: 'hi' }],
  ])('binds args %j and kwargs %j as Python would', (args, kwargs) => {
    expect(bind(args, kwargs)).toEqual({ ok: true, userId: '42', message: 'hi' });
  });

  it.each([
    [[1, 'hi', 'extra'], {}, 'send_notification_task() takes 2 positional arguments but 3 were given'],
    [[1], {}, "send_notification_task() missing 1 required positional argument: 'message'"],
    [[], {}, "send_notification_task() missing 2 required positional arguments: 'user_id' and 'message'"],
    [[1, 'hi'], { user_id: 2 }, "send_notification_task() got multiple values for argument 'user_id'"],
    [[1, 'hi'], { priority: 'high' }, "send_notification_task() got an unexpected keyword argument 'priority'"],
    [[{ id: 1 }, 'hi'], {}, 'user_id must be'],
  ])('refuses args %j kwargs %j with TypeError %s', (args, kwargs, reason) => {
    const bound = bindSendNotificationArguments('send_notification_task', args, kwargs);
    expect(bound).toMatchObject({ ok: false, excType: 'TypeError', reason: expect.stringContaining(reason) });
  });

  it('marks only the reason that names a key the publisher sent as quoting the message', () => {
    expect(bind([1, 'hi'], { 'my secret key': 1 })).toMatchObject({ ok: false, quotesMessage: true });
    expect(bind([1])).toMatchObject({ ok: false, quotesMessage: false });
  });
});
