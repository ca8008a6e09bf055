import { randomUUID } from 'node:crypto';
import { AppStack } from '@test/support/app-stack';
import { RedisCluster } from '@test/support/redis-cluster';
import { TestSocket, eventually, uniqueName } from '@test/support/test-context';

/**
 * The apps with REDIS_CLUSTER_NODES: two gateways and a worker fan out through a real 3-master
 * Redis Cluster with sharded pub/sub. REDIS_URL points at a closed port, so nothing can go through
 * a single Redis by mistake.
 */
describe('notification flow through a Redis Cluster, end to end', () => {
  const queue = uniqueName('send_notification');
  const prefix = process.env.REDIS_CHANNEL_PREFIX!;
  const users = [301, 302, 303, 304, 305, 306, 307, 308];
  let cluster: RedisCluster;
  let stack: AppStack;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    stack = await AppStack.start({
      AMQP_QUEUE: queue,
      PORT: '0',
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_URL: 'redis://127.0.0.1:9',
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await cluster?.stop();
  });

  it('delivers each user their notifications on both gateways, through the shard owning their channel', async () => {
    const owners = await Promise.all(
      users.map(async (user) => cluster.ownerOf(await cluster.slotOf(`${prefix}Notifications_${user}`))),
    );
    expect(new Set(owners)).toEqual(new Set(cluster.ports));
    const [gatewayA, gatewayB] = stack.gateways;
    // Every user has a socket on one gateway; the first two have one on each.
    const sockets = await Promise.all(
      users.flatMap((user, index) =>
        [gatewayA, gatewayB]
          .filter((_, side) => index < 2 || side === index % 2)
          .map(async (gateway) => ({ user, socket: await TestSocket.open(gateway.socketUrl(user)) })),
      ),
    );

    for (const [index, user] of users.entries()) {
      const gateways = index < 2 ? 2 : 1;
      const shardSubscribers = await cluster.cli(
        owners[index],
        'pubsub',
        'shardnumsub',
        `${prefix}Notifications_${user}`,
      );
      expect(Number(shardSubscribers.split('\n')[1])).toBe(gateways);
    }
    for (const port of cluster.ports) expect(await cluster.cli(port, 'pubsub', 'channels', `${prefix}*`)).toBe('\n');

    const tasks = users.map(() => randomUUID());
    for (const [index, user] of users.entries())
      await stack.publisher.publish(queue, { user_id: user, message: `hello ${user}` }, { messageId: tasks[index] });

    await eventually(
      () => (sockets.every(({ socket }) => socket.framesOf('notification').length >= 1) ? true : undefined),
      20_000,
      'a notification on every socket',
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for any stray frame to arrive
    for (const { user, socket } of sockets) {
      expect(socket.framesOf('notification').map((frame) => [frame.task_id, frame.message])).toEqual([
        [tasks[users.indexOf(user)], `hello ${user}`],
      ]);
    }
    await Promise.all(sockets.map(({ socket }) => socket.close()));
  });

  it('reports the gateways ready, Redis being the cluster', async () => {
    for (const gateway of stack.gateways) {
      const response = await fetch(`${gateway.httpUrl()}/health/ready`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok', info: { redis: { status: 'up' } } });
    }
  });
});
