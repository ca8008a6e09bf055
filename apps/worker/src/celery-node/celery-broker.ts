import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CeleryNodeConfig } from '@app/config';
import amqp from 'amqp-connection-manager';
import type { AmqpConnectionManager, ChannelWrapper, SetupFunc } from 'amqp-connection-manager';
import type { Options } from 'amqplib';

/**
 * The worker's second AMQP connection, for Celery's broadcast traffic (remote control and
 * events), apart from the task queue's so that its reconnects and prefetch never touch the
 * tasks'. Reconnects by itself and runs each feature's setup (declarations, consumers) again.
 * Closed last, once the event dispatcher has said `worker-offline`.
 */
@Injectable()
export class CeleryBroker implements OnApplicationShutdown {
  private readonly logger = new Logger(CeleryBroker.name);
  private readonly connection: AmqpConnectionManager;
  private readonly channel: ChannelWrapper;

  constructor(config: CeleryNodeConfig) {
    this.connection = amqp.connect([config.AMQP_URL], { heartbeatIntervalInSeconds: 10, reconnectTimeInSeconds: 1 });
    this.connection.on('connectFailed', ({ err }) =>
      this.logger.warn({ msg: 'Celery control connection failed; retrying', error: err.message }),
    );
    this.channel = this.connection.createChannel({ confirm: false });
    this.channel.on('error', (error) =>
      this.logger.warn({ msg: 'Celery control channel failed', error: error.message }),
    );
  }

  /** Runs `setup` on the channel now and after every reconnect. */
  addSetup(setup: SetupFunc): Promise<void> {
    return this.channel.addSetup(setup);
  }

  /** Publishes a JSON message; queued while the broker is away, as Celery's retry=True would wait. */
  async publishJson(exchange: string, routingKey: string, body: unknown, options: Options.Publish): Promise<void> {
    await this.channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      ...options,
    });
  }

  isConnected(): boolean {
    return this.connection.isConnected();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
