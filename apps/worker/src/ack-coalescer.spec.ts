import type { Channel, ConsumeMessage } from 'amqplib';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AckCoalescer } from './ack-coalescer';

const delivery = (deliveryTag: number) => ({ fields: { deliveryTag } }) as ConsumeMessage;

function setup(delivered: number) {
  const frames: Array<[number, boolean]> = [];
  const channel = {
    ack: (message: ConsumeMessage, allUpTo = false) => frames.push([message.fields.deliveryTag, allUpTo]),
  } as unknown as Channel;
  const acks = new AckCoalescer(channel);
  const messages = Array.from({ length: delivered }, (_, i) => delivery(i + 1));
  messages.forEach((message) => acks.delivered(message));
  return { acks, frames, messages };
}

describe('AckCoalescer', () => {
  it('acks a whole batch settled in one turn with one multiple ack', async () => {
    const { acks, frames, messages } = setup(200);
    messages.forEach((message) => acks.ack(message));
    expect(frames).toEqual([]);
    await nextTurn();
    expect(frames).toEqual([[200, true]]);
  });

  it('never covers a delivery that is still running: acks above it go one by one', async () => {
    const { acks, frames, messages } = setup(5);
    for (const tag of [1, 2, 4, 5]) acks.ack(messages[tag - 1]);
    await nextTurn();
    expect(frames).toEqual([
      [2, true],
      [4, false],
      [5, false],
    ]);
    acks.ack(messages[2]);
    await nextTurn();
    expect(frames.at(-1)).toEqual([3, true]);
  });

  it('treats a delivery nacked meanwhile as settled, so a later run can start past it', async () => {
    const { acks, frames, messages } = setup(4);
    acks.settledNow(messages[0]);
    for (const message of messages.slice(1)) acks.ack(message);
    await nextTurn();
    expect(frames).toEqual([[4, true]]);
  });

  it('sends queued acks at once on flush(), as a closing worker needs', () => {
    const { acks, frames, messages } = setup(3);
    messages.forEach((message) => acks.ack(message));
    acks.flush();
    expect(frames).toEqual([[3, true]]);
  });

  it('drops acks on a closed channel without throwing from the timer (the broker redelivers)', async () => {
    const channel = {
      ack: () => {
        throw new Error('Channel closed');
      },
    } as unknown as Channel;
    const acks = new AckCoalescer(channel);
    acks.delivered(delivery(1));
    acks.ack(delivery(1));
    await expect(nextTurn()).resolves.toBeUndefined();
  });
});
