import { CreateTaskResultTable1764230400000 } from './1764230400000-create-task-result-table';
import { CreateNotificationInbox1764230500000 } from './1764230500000-create-notification-inbox';

/** Every migration, oldest first. Listed explicitly so they load the same from source and from dist. */
export const MIGRATIONS = [CreateTaskResultTable1764230400000, CreateNotificationInbox1764230500000];
