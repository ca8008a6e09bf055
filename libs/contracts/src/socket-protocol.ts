/** Events a client may send: `{"event": <name>, "data": <payload>}`. */
export const CLIENT_EVENTS = ['ping'] as const;
export type ClientEvent = (typeof CLIENT_EVENTS)[number];

/** Codes carried by `{"event":"error","data":{"code":...}}` frames. */
export enum SocketErrorCode {
  InvalidJson = 'invalid_json',
  InvalidFrame = 'invalid_frame',
  UnknownEvent = 'unknown_event',
  BinaryNotSupported = 'binary_not_supported',
}

/** WebSocket close codes the gateway uses, besides the protocol's own 1009 (frame too large). */
export enum SocketCloseCode {
  GoingAway = 1001,
  TooSlow = 4008,
}

export interface ServerFrames {
  connected: { connection_id: string; user_id: string; group: string };
  pong: unknown;
  error: { code: SocketErrorCode; message: string };
}

export function serverFrame<E extends keyof ServerFrames>(event: E, data: ServerFrames[E]): string {
  return JSON.stringify({ event, data });
}
