import { MAX_READ_IDS as SERVER_MAX_READ_IDS, SocketCloseCode } from '@app/contracts';
import type {
  BroadcastFrame as ServerBroadcastFrame,
  NotificationFrame as ServerNotificationFrame,
  ReadReceipt as ServerReadReceipt,
  ServerFrames,
} from '@app/contracts';
import { CloseCode, MAX_READ_IDS } from './protocol';
import type { BroadcastFrame, NotificationFrame, ReadReceipt, ServerFrameData } from './protocol';

/** The SDK declares the wire format itself (the package depends on nothing): it must match the gateway's. */
describe('the SDK protocol types', () => {
  it('has the gateway close codes and limits', () => {
    for (const [name, code] of Object.entries(SocketCloseCode).filter(([, value]) => typeof value === 'number')) {
      expect([name, Object.values(CloseCode)]).toEqual([name, expect.arrayContaining([code])]);
    }
    expect(CloseCode.TokenExpired).toBe(SocketCloseCode.TokenExpired);
    expect(CloseCode.TooSlow).toBe(SocketCloseCode.TooSlow);
    expect(MAX_READ_IDS).toBe(SERVER_MAX_READ_IDS);
  });

  it('reads the frames the gateway writes (checked by the type checker)', () => {
    const frames: Array<[unknown, unknown]> = [
      [{} as ServerFrames['connected'] satisfies ServerFrameData['connected'], 0],
      [{} as ServerFrames['resumed'] satisfies ServerFrameData['resumed'], 0],
      [{} as ServerFrames['resume_gap'] satisfies ServerFrameData['resume_gap'], 0],
      [{} as ServerReadReceipt satisfies ReadReceipt, 0],
      [{} as ServerNotificationFrame satisfies NotificationFrame, 0],
      [{} as ServerBroadcastFrame satisfies BroadcastFrame, 0],
    ];
    expect(frames).toHaveLength(6);
  });
});
