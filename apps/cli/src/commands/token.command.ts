import type { JwtConfig } from '@app/config';
import { normalizeUserId } from '@app/contracts';
import jwt from 'jsonwebtoken';
import { readFileSync } from 'node:fs';
import { UsageError } from '../cli-errors';

export interface TokenOptions {
  admin?: boolean;
  ttl: string;
  privateKey?: string;
}

const TTL_PATTERN = /^(\d+)([smhd]?)$/;
const SECONDS_PER_UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** "90", "90s", "15m", "1h", "7d" to seconds. */
export function parseTtl(ttl: string): number {
  const match = TTL_PATTERN.exec(ttl);
  if (!match || Number(match[1]) === 0)
    throw new UsageError(
      `--ttl must be a positive number of seconds, or end in s, m, h or d (got ${JSON.stringify(ttl)})`,
    );
  return Number(match[1]) * SECONDS_PER_UNIT[match[2]];
}

/**
 * Mints an access token the gateway accepts, with the claims djangorestframework-simplejwt
 * writes (`user_id`, `token_type: access`) and `is_staff` for an admin. For trying the system:
 * real tokens come from the service that owns the users.
 */
export function mintToken(config: JwtConfig, userIdArgument: string, options: TokenOptions): string {
  const userId = normalizeUserId(/^\d+$/.test(userIdArgument) ? Number(userIdArgument) : userIdArgument);
  if (userId === null) throw new UsageError(`user_id ${JSON.stringify(userIdArgument)} is not a valid user id`);
  const expiresIn = parseTtl(options.ttl);
  const algorithm = config.JWT_ALGORITHM;
  let key: string;
  if (algorithm.startsWith('HS')) {
    key = config.JWT_SECRET;
  } else if (options.privateKey) {
    key = readFileSync(options.privateKey, 'utf8');
  } else {
    throw new UsageError(
      `JWT_ALGORITHM is ${algorithm}: the service holds only the public key, so pass the issuer's private key with --private-key FILE`,
    );
  }
  const claims = {
    token_type: 'access',
    user_id: /^\d+$/.test(userId) ? Number(userId) : userId,
    ...(options.admin ? { is_staff: true } : {}),
  };
  return jwt.sign(claims, key, {
    algorithm,
    expiresIn,
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  });
}
