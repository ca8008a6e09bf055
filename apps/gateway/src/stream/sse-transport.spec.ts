import { SocketCloseCode, notificationFrameOf, serverFrame } from '@app/contracts';
import { MetricsRegistry } from '@app/metrics';
import type { ServerResponse } from 'node:http';
import { GatewayMetrics } from '../notifications/gateway-metrics';
import { SseTransport, sseEvent } from './sse-transport';

function setUp() {
  const written: string[] = [];
  const response = {
    writableEnded: false,
    destroyed: false,
    writableLength: 0,
    write: (text: string) => written.push(text),
    end: jest.fn(),
    destroy: jest.fn(),
  };
  response.end.mockImplementation((text: string) => {
    written.push(text);
    response.writableEnded = true;
  });
  response.destroy.mockImplementation(() => (response.destroyed = true));
  const metrics = new GatewayMetrics(new MetricsRegistry('test'));
  const transport = new SseTransport(response as unknown as ServerResponse, metrics);
  return { transport, response, written };
}

describe('SseTransport', () => {
  it('sends a notification frame as one event named notification, with its inbox id and the frame as data', () => {
    const { transport, written } = setUp();
    const frame = notificationFrameOf({ id: 42, seq: 7, taskId: 't', createdAt: new Date(0), messageJson: '{"a":1}' });
    transport.send(Buffer.from(frame));
    expect(written).toEqual([`id: 42\nevent: notification\ndata: ${frame}\n\n`]);
  });

  it('gives connected its last_id as the event id, and other frames their event name without an id', () => {
    const { transport, written } = setUp();
    transport.send(
      serverFrame('connected', { connection_id: 'c', user_id: 'u', group: 'g', last_id: 9, last_broadcast_id: 0 }),
    );
    transport.send(serverFrame('read', { ids: [1], all: false, unread_count: 0 }));
    expect(written[0]).toMatch(/^id: 9\nevent: connected\ndata: /);
    expect(written[1]).toMatch(/^event: read\ndata: \{"event":"read"/);
  });

  it('splits data that spans lines (a payload published pretty-printed) into one data line each', () => {
    expect(sseEvent('notification', '{"message":{\n  "a": 1\r\n}}', 3)).toBe(
      'id: 3\nevent: notification\ndata: {"message":{\ndata:   "a": 1\ndata: }}\n\n',
    );
  });

  it('ends with an error event naming the cause and the close code; a too-slow client is cut off without one', () => {
    const expired = setUp();
    expired.transport.close(SocketCloseCode.TokenExpired, 'token expired');
    expect(expired.written).toEqual([
      'event: error\ndata: {"event":"error","data":{"code":"token_expired","message":"token expired","close_code":4001}}\n\n',
    ]);
    expect(expired.transport.isOpen).toBe(false);
    expired.transport.close(SocketCloseCode.Disconnected, 'again');
    expect(expired.response.end).toHaveBeenCalledTimes(1);

    const slow = setUp();
    slow.transport.close(SocketCloseCode.TooSlow, 'slow consumer');
    expect(slow.written).toEqual([]);
    expect(slow.response.destroy).toHaveBeenCalled();
  });
});
