export type { NotificationToPublish, PublisherOptions } from './notification-publisher';
export { NotificationPublisher } from './notification-publisher';
export { PublishingModule, QueuePublisher } from './publishing.module';
export type { QueueType } from './task-queue';
export { deadLetterQueueOf, deadLetterQueueOptions, republishedProperties, taskQueueOptions } from './task-queue';
