import { parseAppConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import type { Channel } from 'amqplib';
import { LamportClock } from '../celery-node/lamport-clock';
import type { CeleryBroker } from '../celery-node/celery-broker';
import type { ControlCommands } from './control-commands';
import { PidboxMailbox } from './pidbox-mailbox';

/** A broker whose channel comes up when the test says so, as amqp-connection-manager's does. */
function brokerConnectingLater() {
  const setups: Array<(channel: Channel) => Promise<void>> = [];
  const consumed: string[] = [];
  const channel = {
    assertExchange: async () => undefined,
    assertQueue: async () => undefined,
    bindQueue: async () => undefined,
    consume: async (queue: string) => void consumed.push(queue),
  } as unknown as Channel;
  const broker = {
    addSetup: async (setup: (channel: Channel) => Promise<void>) => void setups.push(setup),
  } as unknown as CeleryBroker;
  const connect = () => Promise.all(setups.map((setup) => setup(channel)));
  return { broker, connect, consumed };
}

describe('PidboxMailbox start', () => {
  const config = parseAppConfig({ WORKER_NAME: 'celery@spec' });
  const mailboxOn = (broker: CeleryBroker) =>
    new PidboxMailbox(broker, {} as ControlCommands, new LamportClock(), config, new MetricsRegistry('spec'));

  it('ends only once the mailbox consumes, so a ping right after the start is answered', async () => {
    const { broker, connect, consumed } = brokerConnectingLater();
    let started = false;
    const start = mailboxOn(broker)
      .onApplicationBootstrap()
      .then(() => (started = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started).toBe(false);
    await connect();
    await start;
    expect(consumed).toEqual(['celery@spec.celery.pidbox']);
  });

  it('does not hold the start longer than 5 s while the broker is away', async () => {
    jest.useFakeTimers();
    try {
      const { broker } = brokerConnectingLater();
      const start = mailboxOn(broker).onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(5000);
      await expect(start).resolves.toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });
});
