import { CLIENT_EVENTS, SocketErrorCode, jsonNestingDepth } from '@app/contracts';
import type { ClientEvent, ServerFrames } from '@app/contracts';

/**
 * The event a frame is routed to when it cannot be routed where it asked; its handler answers with
 * an error frame. Not a client event, so a client cannot send it on purpose.
 */
export const INVALID_FRAME_EVENT = '$invalid_frame';

export type DecodedClientFrame =
  { event: ClientEvent; data: unknown } | { event: typeof INVALID_FRAME_EVENT; data: ServerFrames['error'] };

const KNOWN_EVENTS = new Set<string>(CLIENT_EVENTS);

/**
 * The gateway's message parser: one client frame in, one routed event out. Never throws, so every
 * bad frame gets an answer instead of the adapter's silent drop. Text frames arrive as strings;
 * binary frames as Buffers.
 */
export function decodeClientFrame(raw: string | Buffer | ArrayBuffer | Buffer[]): DecodedClientFrame {
  if (typeof raw !== 'string') {
    return invalid(SocketErrorCode.BinaryNotSupported, 'Binary frames are not supported; send JSON text frames');
  }
  if (jsonNestingDepth(raw) > MAX_NESTING_DEPTH) {
    return invalid(SocketErrorCode.InvalidFrame, `Frame nests deeper than ${MAX_NESTING_DEPTH} levels`);
  }
  let frame: unknown;
  try {
    frame = JSON.parse(raw);
  } catch {
    return invalid(SocketErrorCode.InvalidJson, 'Frame is not valid JSON');
  }
  if (
    typeof frame !== 'object' ||
    frame === null ||
    Array.isArray(frame) ||
    typeof (frame as { event?: unknown }).event !== 'string'
  ) {
    return invalid(SocketErrorCode.InvalidFrame, 'Frame must be a JSON object {"event": string, "data": any}');
  }
  const { event, data } = frame as { event: string; data?: unknown };
  if (!KNOWN_EVENTS.has(event)) {
    return invalid(
      SocketErrorCode.UnknownEvent,
      `Unknown event ${JSON.stringify(event.slice(0, 64))}; known events: ${CLIENT_EVENTS.join(', ')}`,
    );
  }
  return { event: event as ClientEvent, data };
}

/** No client frame needs more; deeper ones are refused before JSON.parse builds them. */
export const MAX_NESTING_DEPTH = 32;

function invalid(code: SocketErrorCode, message: string): DecodedClientFrame {
  return { event: INVALID_FRAME_EVENT, data: { code, message } };
}
