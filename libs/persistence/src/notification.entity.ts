import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One notification in a user's inbox. Written in the same transaction as its task result, before
 * it is fanned out, so a notification is never delivered without being stored. `id` grows with
 * every notification, so "everything after X" is a range scan per user. The table is partitioned
 * by ranges of `id` (see the migration PartitionInboxById).
 */
@Entity({ name: 'notification_inbox' })
@Index('notification_inbox_user_id_id', ['userId', 'id'])
@Index('notification_inbox_task_id_recipient', ['taskId', 'recipientIndex'])
export class Notification {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT' })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 64 })
  userId!: string;

  /** The notification's place in its user's sequence (1, 2, 3, ... with no gap): see the migration. */
  @Column({ type: 'bigint' })
  seq!: string;

  /**
   * A redelivered task finds its notifications here instead of creating them again. A task for a
   * list of users has one row per user (see the migration that made it so).
   */
  @Column({ name: 'task_id', type: 'varchar', length: 255 })
  taskId!: string;

  /** The user's place in the task's list of users, 0 for a task of one user (see the migration). */
  @Column({ name: 'recipient_index', type: 'smallint', default: 0 })
  recipientIndex!: number;

  /** `json`, not `jsonb`: the payload comes back byte for byte as it was stored. */
  @Column({ type: 'json' })
  message!: unknown;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'read_at', type: 'timestamptz', nullable: true })
  readAt!: Date | null;
}
