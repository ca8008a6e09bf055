export type { NotificationToPublish, PublisherOptions } from './notification-publisher';
export { NotificationPublisher } from './notification-publisher';
export { PublishingModule, QueuePublisher } from './publishing.module';
export type { QueueType } from './task-queue';
export { deadLetterQueueOf, deadLetterQueueOptions, republishedProperties, taskQueueOptions } from './task-queue';
export type { DeadLetter, DeadLetterOutcome, DeadLetterSelection } from './dead-letter-queue';
export { DEAD_LETTER_HEADERS, DeadLetterQueue, MAX_SCAN, PREVIEW_BYTES } from './dead-letter-queue';
