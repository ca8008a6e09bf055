import { MAX_MESSAGE_DEPTH, jsonNestingDepth } from '@app/contracts';
import type { IncomingMessage } from 'node:http';

/**
 * body-parser's `verify` for JSON bodies: refuses one nesting deeper than any body of this API may
 * (a published message nests up to MAX_MESSAGE_DEPTH levels with its envelope) before it is parsed.
 * A few kilobytes of brackets parse fine, but validation then recurses through them and runs out of
 * stack: a 500 for the request, where the client is owed a 400 saying why.
 */
export function refuseDeepJson(_request: IncomingMessage, _response: unknown, body: Buffer): void {
  if (jsonNestingDepth(body.toString('utf8')) <= MAX_MESSAGE_DEPTH) return;
  throw Object.assign(new Error(`The JSON body nests deeper than ${MAX_MESSAGE_DEPTH} levels`), {
    status: 400,
    expose: true,
  });
}
