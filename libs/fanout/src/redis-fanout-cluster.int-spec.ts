import { RedisCluster } from '@test/support/redis-cluster';
import { eventually, testConfig } from '@test/support/test-context';
import { RedisFanout } from './redis-fanout';

/** RedisFanout with REDIS_CLUSTER_NODES set, against a real 3-master cluster started here. */
describe('RedisFanout (real Redis Cluster, sharded pub/sub)', () => {
  const groups = Array.from({ length: 30 }, (_, index) => `Notifications_${index + 1}`);
  let cluster: RedisCluster;
  let prefix: string;
  /** The slot of each group's channel, and the port of the master owning it. */
  const slots = new Map<string, number>();
  const owners = new Map<string, number>();
  let worker: RedisFanout;
  let gatewayA: RedisFanout;
  let gatewayB: RedisFanout;
  const received: Record<string, string[]> = { a: [], b: [] };
  const reconnects = { a: 0, b: 0 };

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    const config = testConfig({ REDIS_CLUSTER_NODES: cluster.nodes });
    prefix = config.REDIS_CHANNEL_PREFIX;
    for (const group of groups) slots.set(group, await cluster.slotOf(prefix + group));
    for (const group of groups) owners.set(group, await cluster.ownerOf(slots.get(group)!));
    [worker, gatewayA, gatewayB] = [new RedisFanout(config), new RedisFanout(config), new RedisFanout(config)];
    gatewayA.listen((group, frame) => received.a.push(`${group}:${frame.toString()}`));
    gatewayB.listen((group, frame) => received.b.push(`${group}:${frame.toString()}`));
    gatewayA.onReconnect(() => reconnects.a++);
    gatewayB.onReconnect(() => reconnects.b++);
  });

  afterAll(async () => {
    await Promise.all([worker, gatewayA, gatewayB].filter(Boolean).map((fanout) => fanout.onModuleDestroy()));
    await cluster?.stop();
  });

  const groupsOn = (port: number) => groups.filter((group) => owners.get(group) === port);
  /** The shard channels a node has subscribers for, and the plain channels (never wanted here). */
  const channelsOn = async (port: number) => ({
    shard: (await cluster.cli(port, 'pubsub', 'shardchannels', `${prefix}*`)).split('\n').filter(Boolean).sort(),
    plain: (await cluster.cli(port, 'pubsub', 'channels', `${prefix}*`)).split('\n').filter(Boolean),
  });
  const shardSubscribers = async (group: string) =>
    Number((await cluster.cli(owners.get(group)!, 'pubsub', 'shardnumsub', prefix + group)).split('\n')[1]);

  it('delivers groups on every shard, subscribed as shard channels on the master that owns each', async () => {
    expect(new Set(owners.values())).toEqual(new Set(cluster.ports));
    await Promise.all(groups.map((group) => gatewayA.subscribe(group)));

    for (const port of cluster.ports) {
      expect(await channelsOn(port)).toEqual({
        shard: groupsOn(port)
          .map((group) => prefix + group)
          .sort(),
        plain: [],
      });
    }
    const counts = await Promise.all(groups.map((group) => worker.publish(group, `to ${group}`)));
    expect(counts).toEqual(groups.map(() => 1));
    await eventually(() => (received.a.length >= groups.length ? true : undefined), 10_000, 'every frame');
    expect(received.a.sort()).toEqual(groups.map((group) => `${group}:to ${group}`).sort());
    expect(reconnects.a).toBe(0);
  });

  it('reports how many gateways a frame reached', async () => {
    const [group] = groups;
    await gatewayB.subscribe(group);
    expect(await shardSubscribers(group)).toBe(2);
    expect(await worker.publish(group, 'both')).toBe(2);
    expect(await worker.publish('Notifications_nobody', 'none')).toBe(0);
    await eventually(() => (received.b.includes(`${group}:both`) ? true : undefined));
    await gatewayB.unsubscribe(group);
  });

  it('stops delivering after unsubscribe, on every shard', async () => {
    const leaving = cluster.ports.map((port) => groupsOn(port)[0]);
    await Promise.all(leaving.map((group) => gatewayA.unsubscribe(group)));
    for (const group of leaving) {
      expect(await shardSubscribers(group)).toBe(0);
      expect(await worker.publish(group, 'gone')).toBe(0);
    }
    await Promise.all(leaving.map((group) => gatewayA.subscribe(group)));
    expect(await worker.publish(leaving[0], 'back')).toBe(1);
    await eventually(() => (received.a.includes(`${leaving[0]}:back`) ? true : undefined));
    expect(received.a.filter((frame) => frame.endsWith(':gone'))).toEqual([]);
  });

  it('tells the gateways when their connection to a shard is back, channels resubscribed', async () => {
    const port = cluster.ports[1];
    const group = groupsOn(port)[0];
    await gatewayB.subscribe(group);
    expect(await shardSubscribers(group)).toBe(2);
    expect(reconnects).toEqual({ a: 0, b: 0 });

    // Only the sharded subscriber connections are in pub/sub mode; the publisher's are not touched.
    expect(Number(await cluster.cli(port, 'client', 'kill', 'type', 'pubsub'))).toBe(2);
    await eventually(
      () => (reconnects.a === 1 && reconnects.b === 1 ? true : undefined),
      15_000,
      'both reconnect listeners',
    );
    // ioredis resubscribed by itself: every channel of that shard has both gateways again.
    await eventually(
      async () => ((await shardSubscribers(group)) === 2 ? true : undefined),
      5000,
      'the resubscription',
    );
    expect((await channelsOn(port)).shard).toEqual(
      groupsOn(port)
        .map((name) => prefix + name)
        .sort(),
    );

    await Promise.all([gatewayA.subscribe(group), gatewayB.subscribe(group)]); // what a gateway does before catching up
    expect(await worker.publish(group, 'after')).toBe(2);
    await eventually(() =>
      received.a.includes(`${group}:after`) && received.b.includes(`${group}:after`) ? true : undefined,
    );
    expect(reconnects).toEqual({ a: 1, b: 1 });
  });

  it('follows a group whose slot migrates to another master, and tells the gateway', async () => {
    // Redis unsubscribes the slot's channels on the old owner; ioredis resubscribes on the new one
    // once its slot map shows the move, which may take one SUBSCRIBER_SLOTS_REFRESH_MS (5 s).
    const group = groupsOn(cluster.ports[2]).find((name) => name !== groups[0])!; // gateway A's alone
    const [from, to] = [cluster.ports[2], cluster.ports[0]];
    const before = { ...reconnects };
    await cluster.moveSlot(slots.get(group)!, to);
    for (const name of groups) if (slots.get(name) === slots.get(group)) owners.set(name, to);

    await eventually(
      async () => ((await shardSubscribers(group)) === 1 ? true : undefined),
      15_000,
      'the subscription on the new owner',
    );
    expect((await channelsOn(from)).shard).not.toContain(prefix + group);
    // Told at least once: ioredis may rebuild a subscriber before its map shows the move, and again after.
    await eventually(() => (reconnects.a > before.a ? true : undefined), 5000, 'the reconnect listener');
    expect(await worker.publish(group, 'moved')).toBe(1);
    await eventually(() => (received.a.includes(`${group}:moved`) ? true : undefined));
  });

  it('pings every master', async () => {
    await expect(worker.ping()).resolves.toBeUndefined();
    await expect(gatewayA.ping()).resolves.toBeUndefined();
  });

  it('carries broadcasts on one shard channel every gateway subscribes to, to each gateway once', async () => {
    const config = testConfig({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_CHANNEL_PREFIX: prefix });
    const gateways = [new RedisFanout(config), new RedisFanout(config)];
    const frames: string[][] = [[], []];
    try {
      gateways.forEach((gateway, index) => gateway.listenBroadcasts((frame) => frames[index].push(frame.toString())));
      const owner = await cluster.ownerOf(await cluster.slotOf(`${prefix}$broadcast`));
      await eventually(
        async () => ((await channelsOn(owner)).shard.includes(`${prefix}$broadcast`) ? true : undefined),
        10_000,
        'the broadcast channel subscribed on its shard',
      );
      await eventually(async () =>
        (await worker.publishBroadcast('{"event":"broadcast","id":1}')) === 2 ? true : undefined,
      );
      await eventually(() => (frames.every((received) => received.length > 0) ? true : undefined));
      for (const received of frames) expect(new Set(received)).toEqual(new Set(['{"event":"broadcast","id":1}']));
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.onModuleDestroy()));
    }
  });
});
