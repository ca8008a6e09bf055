import { notificationFrameOf } from '@app/contracts';
import type { RedisFanout } from '@app/fanout';
import { MetricsRegistry } from '@app/metrics';
import type { ClientConnection } from './client-connection';
import { GatewayMetrics } from './gateway-metrics';
import { GroupSubscriptions } from './group-subscriptions';

function setUp() {
  const fanout = {
    listen: jest.fn(),
    onReconnect: jest.fn(),
    subscribe: jest.fn().mockResolvedValue(undefined),
    unsubscribe: jest.fn().mockResolvedValue(undefined),
  };
  const groups = new GroupSubscriptions(
    fanout as unknown as RedisFanout,
    new GatewayMetrics(new MetricsRegistry('test')),
  );
  groups.onModuleInit();
  const connection = (group: string, kind: 'websocket' | 'sse' = 'websocket') =>
    ({
      group,
      transport: { kind },
      receiveNotification: jest.fn(),
      receiveFrame: jest.fn(),
      resync: jest.fn().mockResolvedValue(undefined),
      close: jest.fn(),
    }) as unknown as ClientConnection & {
      receiveNotification: jest.Mock;
      receiveFrame: jest.Mock;
      resync: jest.Mock;
    };
  const fromRedis = (group: string, frame: string) => fanout.listen.mock.calls[0][0](group, Buffer.from(frame));
  return { fanout, groups, connection, fromRedis };
}

describe('GroupSubscriptions', () => {
  it('subscribes a group once, for its first connection, and unsubscribes after its last', async () => {
    const { fanout, groups, connection } = setUp();
    const [a, b] = [connection('Notifications_1'), connection('Notifications_1')];
    await groups.join(a);
    await groups.join(b);
    expect(fanout.subscribe).toHaveBeenCalledTimes(1);
    groups.leave(a);
    expect(fanout.unsubscribe).not.toHaveBeenCalled();
    groups.leave(b);
    expect(fanout.unsubscribe).toHaveBeenCalledWith('Notifications_1');
    expect([groups.connectionCount, groups.userCount]).toEqual([0, 0]);
  });

  it('counts streams among the connections, once each, however often a connection leaves', async () => {
    const { groups, connection } = setUp();
    const [socket, stream] = [connection('Notifications_1'), connection('Notifications_1', 'sse')];
    await groups.join(socket);
    await groups.join(stream);
    await groups.join(stream);
    expect([groups.connectionCount, groups.streamCount]).toEqual([2, 1]);
    groups.leave(stream);
    groups.leave(stream);
    expect([groups.connectionCount, groups.streamCount]).toEqual([1, 0]);
  });

  it('forgets a subscription that failed, so the next connection of the group subscribes again', async () => {
    const { fanout, groups, connection } = setUp();
    fanout.subscribe.mockRejectedValueOnce(new Error('Reached the max retries per request limit'));
    const [first, second] = [connection('Notifications_1'), connection('Notifications_1')];
    await expect(groups.join(first)).rejects.toThrow(/max retries/);
    expect(groups.connectionCount).toBe(0);
    await groups.join(second);
    expect(fanout.subscribe).toHaveBeenCalledTimes(2);
    expect(groups.connectionCount).toBe(1);
  });

  it('hands notification frames to the connections of their group with their head, and other frames as they are', async () => {
    const { groups, connection, fromRedis } = setUp();
    const [a1, a2, b] = [connection('Notifications_a'), connection('Notifications_a'), connection('Notifications_b')];
    for (const joining of [a1, a2, b]) await groups.join(joining);
    const frame = notificationFrameOf({ id: 7, seq: 3, taskId: 't', createdAt: new Date(0), messageJson: '1' });
    fromRedis('Notifications_a', frame);
    fromRedis('Notifications_a', '{"event":"read","data":{"ids":[7],"all":false,"unread_count":0}}');
    for (const member of [a1, a2]) {
      expect(member.receiveNotification).toHaveBeenCalledWith(Buffer.from(frame), { id: 7, seq: 3, createdAt: 0 });
      expect(member.receiveFrame).toHaveBeenCalledTimes(1);
    }
    expect(b.receiveNotification).not.toHaveBeenCalled();
    expect(b.receiveFrame).not.toHaveBeenCalled();
  });

  it('after the fan-out lost Redis, subscribes every group again, then catches every connection up', async () => {
    const { fanout, groups, connection } = setUp();
    const connections = [connection('Notifications_a'), connection('Notifications_b'), connection('Notifications_b')];
    for (const joining of connections) await groups.join(joining);
    fanout.subscribe.mockClear();
    fanout.onReconnect.mock.calls[0][0]();
    await new Promise((resolve) => setImmediate(resolve));
    expect(fanout.subscribe.mock.calls.map(([group]) => group).sort()).toEqual(['Notifications_a', 'Notifications_b']);
    for (const member of connections) expect(member.resync).toHaveBeenCalledTimes(1);
  });
});
