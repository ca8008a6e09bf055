import { BadRequestException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { BroadcastConfig } from '@app/config';
import { broadcastFrameOf } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { MetricsRegistry } from '@app/metrics';
import { BroadcastRecord, BroadcastRepository } from '@app/persistence';
import type { BroadcastAccepted } from './broadcast.body';

/**
 * A broadcast made over REST: stored, then published on the channel every gateway hears. Stored
 * first, so that whatever reaches a socket live a resuming client can be sent again.
 */
@Injectable()
export class BroadcastService {
  private readonly logger = new Logger(BroadcastService.name);
  private readonly published;

  constructor(
    private readonly repository: BroadcastRepository,
    private readonly fanout: RedisFanout,
    private readonly config: BroadcastConfig,
    metrics: MetricsRegistry,
  ) {
    this.published = metrics
      .counter({
        name: 'notify_broadcasts_published_total',
        help: 'Broadcasts stored and published, by the way they came in',
        labelNames: ['via'] as const,
      })
      .labels('rest');
  }

  async broadcast(message: unknown): Promise<BroadcastAccepted> {
    const messageJson = JSON.stringify(message);
    const bytes = Buffer.byteLength(messageJson);
    if (bytes > this.config.MAX_MESSAGE_BYTES) {
      throw new BadRequestException([
        `message is ${bytes} bytes as JSON; MAX_MESSAGE_BYTES allows ${this.config.MAX_MESSAGE_BYTES}`,
      ]);
    }
    const stored = await this.store(messageJson);
    this.published.inc();
    // Once stored it is accepted: a gateway that misses the frame reads it back after its outage,
    // and a client that misses it gets it when it resumes.
    await this.fanout
      .publishBroadcast(broadcastFrameOf(stored))
      .catch((error: Error) =>
        this.logger.warn({ msg: 'Publishing a broadcast failed; it is stored', id: stored.id, error: error.message }),
      );
    return { id: Number(stored.id), created_at: stored.createdAt };
  }

  private async store(messageJson: string): Promise<BroadcastRecord> {
    try {
      return await this.repository.add(messageJson);
    } catch (error) {
      this.logger.warn({ msg: 'Storing a broadcast failed', error: (error as Error).message });
      throw new ServiceUnavailableException('The database did not store the broadcast; retry');
    }
  }
}
