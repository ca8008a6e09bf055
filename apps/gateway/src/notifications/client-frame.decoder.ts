import { CLIENT_EVENTS, SocketErrorCode, isFrameRef, jsonNestingDepth } from '@app/contracts';
import type { ClientEvent, FrameRef, ServerFrames } from '@app/contracts';

/**
 * The event a frame is routed to when it cannot be routed where it asked; its handler answers with
 * an error frame. Not a client event, so a client cannot send it on purpose.
 */
export const INVALID_FRAME_EVENT = '$invalid_frame';

/** `ref`: the client's name for the request, copied onto its answer (absent when the client gave none). */
export type DecodedClientFrame =
  | { event: ClientEvent; data: unknown; ref?: FrameRef }
  | { event: typeof INVALID_FRAME_EVENT; data: ServerFrames['error']; ref?: FrameRef };

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
  const { event, data, ref } = frame as { event: string; data?: unknown; ref?: unknown };
  if (ref !== undefined && !isFrameRef(ref)) {
    return invalid(SocketErrorCode.InvalidFrame, 'ref must be a string of 1-64 characters or an integer');
  }
  if (!KNOWN_EVENTS.has(event)) {
    return invalid(
      SocketErrorCode.UnknownEvent,
      `Unknown event ${JSON.stringify(event.slice(0, 64))}; known events: ${CLIENT_EVENTS.join(', ')}`,
      ref,
    );
  }
  return ref === undefined ? { event: event as ClientEvent, data } : { event: event as ClientEvent, data, ref };
}

/** No client frame needs more; deeper ones are refused before JSON.parse builds them. */
export const MAX_NESTING_DEPTH = 32;

function invalid(code: SocketErrorCode, message: string, ref?: FrameRef): DecodedClientFrame {
  const decoded: DecodedClientFrame = { event: INVALID_FRAME_EVENT, data: { code, message } };
  return ref === undefined ? decoded : { ...decoded, ref };
}
