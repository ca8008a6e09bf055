import { randomUUID } from 'node:crypto';
import { DecodedMessage, SEND_NOTIFICATION_PATTERN, rejected } from './notification-task';

/** A plain or Nest payload that carries `broadcast`: a `BroadcastTask`, or why it cannot be one. */
export function decodeBroadcast(payload: Record<string, unknown>, taskId: string | null): DecodedMessage {
  const fail = (reason: string) => rejected('TypeError', reason, taskId, SEND_NOTIFICATION_PATTERN);
  if (payload.broadcast !== true) return fail('broadcast must be true: an announcement to every connected user');
  if ('user_id' in payload || 'user_ids' in payload)
    return fail('A broadcast goes to every connected user: it takes no user_id or user_ids');
  if (!('message' in payload)) return fail("send_notification() missing required argument: 'message'");
  const messageJson = JSON.stringify(payload.message);
  return {
    ok: true,
    task: {
      taskId: taskId ?? randomUUID(),
      taskName: SEND_NOTIFICATION_PATTERN,
      broadcast: true,
      message: payload.message,
      messageJson,
      taskArgs: '[]',
      taskKwargs: `{"broadcast":true,"message":${messageJson}}`,
      args: [],
      kwargs: { broadcast: true, message: payload.message },
      retries: 0,
      eta: null,
      expires: null,
    },
  };
}
