import type { AppConfig } from '@app/config';
import { MAX_CLOSE_REASON_BYTES, normalizeUserId } from '@app/contracts';
import { UsageError } from '../cli-errors';
import { mintToken } from './token.command';

export interface GatewayOptions {
  /** The gateway's base URL; default http://127.0.0.1:<PORT>. */
  url?: string;
}

/**
 * `disconnect` and `revoke` go through a gateway's REST API, which tells every gateway over Redis
 * (and stores a revocation in Postgres): the CLI needs no Redis of its own. It authenticates with
 * the first PUBLISH_API_TOKENS entry, or else an admin token it mints with JWT_SECRET.
 */
export async function disconnectUser(
  config: AppConfig,
  userId: string,
  options: GatewayOptions & { reason?: string },
): Promise<string> {
  if (options.reason !== undefined && Buffer.byteLength(options.reason) > MAX_CLOSE_REASON_BYTES)
    throw new UsageError(`--reason must be at most ${MAX_CLOSE_REASON_BYTES} bytes (a close frame's limit)`);
  const body = await callGateway(config, options, `/api/users/${checked(userId)}/disconnect`, {
    reason: options.reason,
  });
  return `disconnect sent to ${body.gateways as number} gateway(s) for user ${userId}`;
}

export async function revokeTokens(config: AppConfig, userId: string, options: GatewayOptions): Promise<string> {
  const body = await callGateway(config, options, `/api/users/${checked(userId)}/revoke_tokens`, {});
  return `user ${userId} logged out everywhere: tokens issued before ${body.tokens_issued_before as string} are refused`;
}

function checked(userId: string): string {
  if (normalizeUserId(userId) === null)
    throw new UsageError(`user_id ${JSON.stringify(userId)} is not a valid user id`);
  return encodeURIComponent(userId);
}

async function callGateway(
  config: AppConfig,
  options: GatewayOptions,
  path: string,
  body: object,
): Promise<Record<string, unknown>> {
  const base = (options.url ?? `http://127.0.0.1:${config.PORT}`).replace(/\/$/, '');
  const token = config.PUBLISH_API_TOKENS[0] ?? mintToken(config, 'cli', { admin: true, ttl: '60s' });
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new Error(
      `the gateway at ${base} could not be reached (${(error as Error).message}); is it running? (--url)`,
      { cause: error },
    );
  }
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status !== 202)
    throw new Error(`the gateway answered ${response.status}: ${JSON.stringify(answer.message ?? answer)}`);
  return answer;
}
