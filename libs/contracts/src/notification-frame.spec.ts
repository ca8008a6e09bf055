import fc from 'fast-check';
import { notificationFrameOf, readNotificationHead } from './notification-frame';

describe('notification frames', () => {
  const notification = fc.record({
    id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    taskId: fc.string({ minLength: 1, maxLength: 255, unit: 'binary' }),
    createdAt: fc.date({ min: new Date('2000-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
    message: fc.jsonValue(),
  });

  it('are JSON whose fields are what was stored, and the head reader reads them back', () => {
    fc.assert(
      fc.property(notification, ({ message, ...stored }) => {
        const frame = notificationFrameOf({ ...stored, messageJson: JSON.stringify(message) });
        expect(JSON.parse(frame)).toEqual({
          event: 'notification',
          type: 'notification',
          id: stored.id,
          seq: stored.seq,
          task_id: stored.taskId,
          created_at: stored.createdAt.toISOString(),
          message: JSON.parse(JSON.stringify(message)),
        });
        const head = { id: stored.id, seq: stored.seq, createdAt: stored.createdAt.getTime() };
        expect(readNotificationHead(frame)).toEqual(head);
        expect(readNotificationHead(Buffer.from(frame))).toEqual(head);
      }),
    );
  });

  it('reads no head from other frames', () => {
    for (const frame of [
      '{"event":"read","data":{"ids":[1],"all":false,"unread_count":0}}',
      '{"event":"notification","type":"notification","id":"1","seq":1}',
      '{"event":"notification","type":"notification","id":99999999999999999,"seq":1,"task_id":"t","created_at":"2026-01-01T00:00:00.000Z","message":1}',
      'not json',
    ]) {
      expect(readNotificationHead(frame)).toBeNull();
    }
  });
});
