import { CloseCode } from './protocol';

/**
 * What the client does after a close:
 * - `retry`: reconnect with backoff (drops, gateway restarts, 1011, 1013);
 * - `penalty`: reconnect with backoff that a quick `connected` does not reset (1008 flood, 4008 slow reader);
 * - `token_expired`: reconnect with a fresh token from the token function, or stop (static token);
 * - `client_bug`: the client sent what the server cannot take (1003, 1009): stop and report;
 * - `final`: the server ended the session (4003): stop.
 */
export type CloseAction = 'retry' | 'penalty' | 'token_expired' | 'client_bug' | 'final';

export function closeAction(code: number): CloseAction {
  switch (code) {
    case CloseCode.UnsupportedData:
    case CloseCode.MessageTooBig:
      return 'client_bug';
    case CloseCode.PolicyViolation:
    case CloseCode.TooSlow:
      return 'penalty';
    case CloseCode.TokenExpired:
      return 'token_expired';
    case CloseCode.DisconnectedByServer:
      return 'final';
    default:
      return 'retry';
  }
}
