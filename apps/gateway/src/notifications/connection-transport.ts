import { WebSocket } from 'ws';

/** How a client is connected: what the presence counts and the metrics tell apart. */
export type TransportKind = 'websocket' | 'sse';

/**
 * What a `ClientConnection` needs of the wire under it, so that one connection object (its place
 * in the inbox, catch-up, de-duplication, expiry, disconnect) serves a WebSocket and a Server-Sent
 * Events stream alike: a frame is always the JSON text a socket receives; each transport decides
 * how it goes on the wire.
 */
export interface ConnectionTransport {
  readonly kind: TransportKind;
  readonly isOpen: boolean;
  /** Bytes written but not yet taken by the client: what the slow-consumer rule measures. */
  readonly bufferedBytes: number;
  send(frame: Buffer | string): void;
  /** Ends the connection; `code` is the socket close code (the cause), `reason` its text. */
  close(code: number, reason: string): void;
}

/** A `ws` socket as a transport: frames as text messages, causes as close codes. */
export class WebSocketTransport implements ConnectionTransport {
  readonly kind = 'websocket';

  constructor(readonly socket: WebSocket) {}

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  send(frame: Buffer | string): void {
    this.socket.send(frame, { binary: false });
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }
}
