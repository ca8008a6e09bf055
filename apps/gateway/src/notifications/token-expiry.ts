import { SocketCloseCode } from '@app/contracts';
import type { WebSocket } from 'ws';

/** setTimeout's limit (about 24.8 days); longer waits are made of several timers. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes the socket with 4001 when the token it was opened with expires (plus a grace period):
 * a socket must not outlive the credentials that opened it. The client reconnects with a fresh one.
 */
export function closeWhenTokenExpires(socket: WebSocket, expiresAt: number, graceMs: number): void {
  const check = () => {
    const left = expiresAt + graceMs - Date.now();
    if (left <= 0) return socket.close(SocketCloseCode.TokenExpired, 'token expired');
    const timer = setTimeout(check, Math.min(left, MAX_TIMER_MS)).unref();
    socket.once('close', () => clearTimeout(timer));
  };
  check();
}
