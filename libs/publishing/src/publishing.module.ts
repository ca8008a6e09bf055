import { Injectable, Module, OnModuleDestroy } from '@nestjs/common';
import { AmqpConfig } from '@app/config';
import { NotificationPublisher } from './notification-publisher';

/** The app's one publishing connection to the task queue, closed with the app. */
@Injectable()
export class QueuePublisher extends NotificationPublisher implements OnModuleDestroy {
  constructor(config: AmqpConfig) {
    super({ url: config.AMQP_URL, queue: config.AMQP_QUEUE, queueType: config.AMQP_QUEUE_TYPE });
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }
}

@Module({ providers: [QueuePublisher], exports: [QueuePublisher] })
export class PublishingModule {}
