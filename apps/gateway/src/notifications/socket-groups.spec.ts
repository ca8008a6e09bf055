import { parseAppConfig } from '@app/config';
import type { RedisFanout } from '@app/fanout';
import { WebSocket } from 'ws';
import { MetricsRegistry } from '@app/metrics';
import { GatewayMetrics } from './gateway-metrics';
import { SocketGroups } from './socket-groups';

class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: string[] = [];
  closedWith: number | null = null;
  send(frame: Buffer) {
    this.sent.push(frame.toString());
  }
  close(code: number) {
    this.closedWith = code;
    this.readyState = WebSocket.CLOSING;
  }
}

function setup() {
  const fanout = { listen: jest.fn(), subscribe: jest.fn().mockResolvedValue(undefined), unsubscribe: jest.fn().mockResolvedValue(undefined) };
  const groups = new SocketGroups(fanout as unknown as RedisFanout, parseAppConfig({ WS_MAX_BUFFERED_BYTES: '2048' }), new GatewayMetrics(new MetricsRegistry('test')));
  groups.onModuleInit();
  const socket = () => new FakeSocket() as FakeSocket & WebSocket;
  return { fanout, groups, socket };
}

describe('SocketGroups', () => {
  it('subscribes a group once, for its first socket, and unsubscribes after its last', async () => {
    const { fanout, groups, socket } = setup();
    const [a, b] = [socket(), socket()];
    await groups.join('Notifications_1', a);
    await groups.join('Notifications_1', b);
    expect(fanout.subscribe).toHaveBeenCalledTimes(1);
    groups.leave('Notifications_1', a);
    expect(fanout.unsubscribe).not.toHaveBeenCalled();
    groups.leave('Notifications_1', b);
    expect(fanout.unsubscribe).toHaveBeenCalledWith('Notifications_1');
    expect(groups.socketCount).toBe(0);
  });

  it('delivers a frame from Redis to every socket of that group and no other', async () => {
    const { fanout, groups, socket } = setup();
    const [a1, a2, b] = [socket(), socket(), socket()];
    await groups.join('Notifications_a', a1);
    await groups.join('Notifications_a', a2);
    await groups.join('Notifications_b', b);
    const listener = fanout.listen.mock.calls[0][0];
    listener('Notifications_a', Buffer.from('{"event":"notification"}'));
    expect(a1.sent).toEqual(['{"event":"notification"}']);
    expect(a2.sent).toEqual(['{"event":"notification"}']);
    expect(b.sent).toEqual([]);
  });

  it('knows how far each socket is (what it resumes from after Redis was lost) and resubscribes every group', async () => {
    const { fanout, groups, socket } = setup();
    const [a, b, c] = [socket(), socket(), socket()];
    await groups.join('Notifications_a', a);
    await groups.join('Notifications_b', b);
    await groups.join('Notifications_b', c);
    groups.deliver('Notifications_a', Buffer.from('{"event":"notification","type":"notification","id":7,"task_id":"t"}'));
    groups.deliver('Notifications_a', Buffer.from('{"event":"notification","type":"notification","id":5,"task_id":"u"}'));
    groups.deliver('Notifications_a', Buffer.from('{"event":"read","data":{"ids":[9]}}'));
    groups.notePosition(b, 3);
    expect(groups.positionOf(a)).toBe(7);
    expect(groups.positionOf(b)).toBe(3);
    expect(groups.positionOf(c)).toBeUndefined();
    expect(groups.sockets()).toEqual([a, b, c]);
    fanout.subscribe.mockClear();
    await groups.resubscribe();
    expect(fanout.subscribe.mock.calls.map(([group]) => group).sort()).toEqual(['Notifications_a', 'Notifications_b']);
  });

  it('closes a socket that has stopped reading instead of buffering more for it', async () => {
    const { groups, socket } = setup();
    const [slow, fast] = [socket(), socket()];
    slow.bufferedAmount = 4096;
    await groups.join('Notifications_1', slow);
    await groups.join('Notifications_1', fast);
    expect(groups.deliver('Notifications_1', Buffer.from('x'))).toBe(1);
    expect(slow.closedWith).toBe(4008);
    expect(fast.sent).toEqual(['x']);
  });
});
