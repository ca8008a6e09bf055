import { MAX_CLOSE_REASON_BYTES } from './socket-protocol';
import { UserId, normalizeUserId } from './user-id';

/**
 * What one gateway (the one a REST call reached) asks every gateway to do, over the fan-out's
 * control channel. A gateway holding no socket of the user has nothing to do.
 */
export type GatewayCommand =
  | { type: 'disconnect'; user_id: UserId; reason: string }
  /** Tokens of the user issued before `cutoff` (seconds since the epoch) are refused from now on. */
  | { type: 'revoke_tokens'; user_id: UserId; cutoff: number };

export function gatewayCommandFrame(command: GatewayCommand): string {
  return JSON.stringify(command);
}

/** Null for anything that is not a well-formed command (a gateway of another version, a stray publish). */
export function parseGatewayCommand(text: string): GatewayCommand | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { type, user_id, reason, cutoff } = value as Record<string, unknown>;
  const userId = normalizeUserId(user_id);
  if (userId === null) return null;
  if (type === 'disconnect' && typeof reason === 'string' && Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES)
    return { type, user_id: userId, reason };
  if (type === 'revoke_tokens' && typeof cutoff === 'number' && Number.isSafeInteger(cutoff) && cutoff > 0)
    return { type, user_id: userId, cutoff };
  return null;
}
