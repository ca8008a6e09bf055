/**
 * The deepest bracket nesting in a JSON text, brackets inside strings aside. One pass, no
 * allocation: deep JSON is refused before `JSON.parse` builds it, because what comes after
 * (`JSON.stringify`, Postgres' json parser) recurses and runs out of stack on a few thousand
 * levels that fit in a few kilobytes.
 */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c)
        i++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (char === 0x7d || char === 0x5d) depth--;
  }
  return deepest;
}

/**
 * The deepest a published body may nest, the same for every way in (AMQP, `POST /api/publish`,
 * `POST /api/broadcast`): deeper JSON makes what follows overflow the stack (see above).
 */
export const MAX_MESSAGE_DEPTH = 64;
