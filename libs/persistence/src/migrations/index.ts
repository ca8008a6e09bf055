import { CreateTaskResultTable1764230400000 } from './1764230400000-create-task-result-table';
import { CreateNotificationInbox1764230500000 } from './1764230500000-create-notification-inbox';
import { AddNotificationSequence1764921600000 } from './1764921600000-add-notification-sequence';
import { CreateDeferredTask1764921700000 } from './1764921700000-create-deferred-task';
import { DropInboxCreatedAtIndex1764921800000 } from './1764921800000-drop-inbox-created-at-index';
import { CreateRevokedTask1764922100000 } from './1764922100000-create-revoked-task';
import { CreateUserTokenCutoff1764922200000 } from './1764922200000-create-user-token-cutoff';
import { CreateBroadcast1764922300000 } from './1764922300000-create-broadcast';
import { InboxRowsPerRecipient1764922400000 } from './1764922400000-inbox-rows-per-recipient';
import { PartitionInboxById1764922500000 } from './1764922500000-partition-inbox-by-id';
import { InboxEndFromIdFloor1764922600000 } from './1764922600000-inbox-end-from-id-floor';
import { InboxTaskRowsFunction1764922700000 } from './1764922700000-inbox-task-rows-function';

/** Every migration, oldest first. Listed explicitly so they load the same from source and from dist. */
export const MIGRATIONS = [
  CreateTaskResultTable1764230400000,
  CreateNotificationInbox1764230500000,
  AddNotificationSequence1764921600000,
  CreateDeferredTask1764921700000,
  DropInboxCreatedAtIndex1764921800000,
  CreateRevokedTask1764922100000,
  CreateUserTokenCutoff1764922200000,
  CreateBroadcast1764922300000,
  InboxRowsPerRecipient1764922400000,
  PartitionInboxById1764922500000,
  InboxEndFromIdFloor1764922600000,
  InboxTaskRowsFunction1764922700000,
];
