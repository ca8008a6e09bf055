import type { IncomingMessage } from 'node:http';
import { ExtractJwt, JwtFromRequestFunction } from 'passport-jwt';

/**
 * Browsers cannot set headers on a WebSocket, so a client may offer the subprotocols
 * `bearer, <jwt>` instead; the gateway then selects `bearer` (see `selectBearerProtocol`).
 */
export const BEARER_PROTOCOL = 'bearer';

export function fromWebSocketProtocol(request: IncomingMessage): string | null {
  const header = request.headers?.['sec-websocket-protocol'];
  if (typeof header !== 'string') return null;
  const offered = header.split(',').map((protocol) => protocol.trim());
  const at = offered.indexOf(BEARER_PROTOCOL);
  return at >= 0 && offered[at + 1] ? offered[at + 1] : null;
}

/** Longer than any real access token; a longer one is refused before any work is spent on it. */
export const MAX_TOKEN_LENGTH = 8192;

const fromAnyPlace: JwtFromRequestFunction = ExtractJwt.fromExtractors([
  ExtractJwt.fromAuthHeaderAsBearerToken(),
  ExtractJwt.fromUrlQueryParameter('token'),
  fromWebSocketProtocol as JwtFromRequestFunction,
]);

/** The token from an `Authorization: Bearer` header, a `token` query parameter, or the subprotocols. */
export const extractToken: JwtFromRequestFunction = (request) => {
  const token = fromAnyPlace(request);
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
};
