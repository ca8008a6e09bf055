import { TcpProxy } from '@test/support/tcp-proxy';
import { testConfig, eventually } from '@test/support/test-context';
import { RedisFanout } from './redis-fanout';

describe('RedisFanout (real Redis)', () => {
  const config = testConfig();
  const worker = new RedisFanout(config);
  const gatewayA = new RedisFanout(config);
  const gatewayB = new RedisFanout(config);
  const received: Record<string, string[]> = { a: [], b: [] };

  beforeAll(() => {
    gatewayA.listen((group, frame) => received.a.push(`${group}:${frame.toString()}`));
    gatewayB.listen((group, frame) => received.b.push(`${group}:${frame.toString()}`));
  });

  afterAll(() => Promise.all([worker, gatewayA, gatewayB].map((fanout) => fanout.onModuleDestroy())));

  it('reaches exactly the gateways subscribed to the group, and reports how many', async () => {
    await gatewayA.subscribe('Notifications_1');
    await gatewayB.subscribe('Notifications_1');
    await gatewayB.subscribe('Notifications_2');
    expect(await worker.publish('Notifications_1', 'one')).toBe(2);
    expect(await worker.publish('Notifications_2', 'two')).toBe(1);
    expect(await worker.publish('Notifications_3', 'three')).toBe(0);
    await eventually(() => (received.a.length === 1 && received.b.length === 2 ? true : undefined));
    expect(received.a).toEqual(['Notifications_1:one']);
    expect(received.b).toEqual(['Notifications_1:one', 'Notifications_2:two']);
  });

  it('stops delivering after unsubscribe', async () => {
    await gatewayA.unsubscribe('Notifications_1');
    expect(await worker.publish('Notifications_1', 'again')).toBe(1);
  });

  it('tells a gateway that lost Redis when it is back, subscriptions restored', async () => {
    const { proxy, url } = await TcpProxy.start(config.REDIS_URL, 6379);
    const cutOff = new RedisFanout(testConfig({ REDIS_URL: url }));
    const frames: string[] = [];
    let reconnects = 0;
    try {
      cutOff.listen((group, frame) => frames.push(`${group}:${frame.toString()}`));
      cutOff.onReconnect(() => reconnects++);
      await cutOff.subscribe('Notifications_9');
      await cutOff.ping();
      expect(reconnects).toBe(0);
      await proxy.cut();
      expect(await worker.publish('Notifications_9', 'lost')).toBe(0);
      await proxy.restore();
      await eventually(() => (reconnects === 1 ? true : undefined), 10_000, 'the reconnect');
      await cutOff.subscribe('Notifications_9'); // what a gateway does before catching up
      expect(await worker.publish('Notifications_9', 'after')).toBe(1);
      await eventually(() => (frames.length ? true : undefined));
      expect(frames).toEqual(['Notifications_9:after']);
    } finally {
      await proxy.restore();
      await cutOff.ping(); // both connections back: quit() closes them cleanly
      await cutOff.onModuleDestroy();
      await proxy.cut();
    }
  });

  it('keeps deployments that share a Redis apart by prefix', async () => {
    const other = new RedisFanout(testConfig({ REDIS_CHANNEL_PREFIX: `${config.REDIS_CHANNEL_PREFIX}other:` }));
    try {
      expect(await other.publish('Notifications_2', 'elsewhere')).toBe(0);
    } finally {
      await other.onModuleDestroy();
    }
  });
});
