import type { Channel, ConsumeMessage } from 'amqplib';

/**
 * Turns many acks on one channel into few frames. Acks requested in the same turn of the event
 * loop are sent together: the longest run of them that starts at the channel's oldest unsettled
 * delivery goes as one `basic.ack` with `multiple`, the rest one by one. A group commit settles a
 * whole batch at once, so under load one frame acks hundreds of messages (one ack frame per
 * message was the worker's largest single cost in a profile, and costs the broker as much).
 *
 * `multiple` acks every unsettled delivery up to a tag, so it is used only where every delivery up
 * to that tag is known to be acked: one still running or held for its eta below keeps its place.
 */
export class AckCoalescer {
  /** Deliveries on this channel not yet acked or nacked, in delivery-tag order (tags only grow). */
  private readonly unsettled = new Set<number>();
  private readonly toAck = new Set<number>();
  private flushScheduled = false;

  constructor(private readonly channel: Channel) {}

  delivered(message: ConsumeMessage): void {
    this.unsettled.add(message.fields.deliveryTag);
  }

  /** Queues the ack; it is sent at the end of this turn of the event loop, or by `flush()`. */
  ack(message: ConsumeMessage): void {
    this.toAck.add(message.fields.deliveryTag);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      try {
        this.flush();
      } catch {
        // The channel closed since delivery (broker restart): the broker redelivers these messages.
      }
    });
  }

  /** For a nack (or a dead-letter's own ack): the delivery leaves the set without waiting. */
  settledNow(message: ConsumeMessage): void {
    this.unsettled.delete(message.fields.deliveryTag);
  }

  /** Sends every queued ack now. Throws, like `Channel#ack`, when the channel has closed. */
  flush(): void {
    this.flushScheduled = false;
    if (this.toAck.size === 0) return;
    let upTo: number | null = null;
    for (const tag of this.unsettled) {
      if (!this.toAck.has(tag)) break;
      upTo = tag;
      this.unsettled.delete(tag);
      this.toAck.delete(tag);
    }
    const single = [...this.toAck];
    this.toAck.clear();
    for (const tag of single) this.unsettled.delete(tag);
    if (upTo !== null) this.channel.ack(deliveryOf(upTo), true);
    for (const tag of single) this.channel.ack(deliveryOf(tag));
  }
}

/** amqplib reads only the delivery tag of the message it acks. */
function deliveryOf(deliveryTag: number): ConsumeMessage {
  return { fields: { deliveryTag } } as ConsumeMessage;
}
