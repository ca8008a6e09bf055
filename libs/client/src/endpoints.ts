/**
 * The WebSocket URL the client connects to: absolute (`ws(s)://`), or in a browser a path or an
 * `http(s)://` URL, resolved against the page (`/ws/notifications/` on an https page is
 * `wss://<host>/ws/notifications/`). Throws a TypeError naming what is wrong.
 */
export function socketUrlOf(url: string, base = pageHref()): URL {
  let resolved: URL;
  try {
    resolved = new URL(url, base);
  } catch {
    throw new TypeError(
      `url ${JSON.stringify(url)} is not a URL${base ? '' : ' (a relative one needs a page to resolve against)'}`,
    );
  }
  if (resolved.protocol === 'http:' || resolved.protocol === 'https:') {
    resolved.protocol = resolved.protocol === 'https:' ? 'wss:' : 'ws:';
  }
  if (resolved.protocol !== 'ws:' && resolved.protocol !== 'wss:') {
    throw new TypeError(`url must be ws://, wss:// or a path; got ${resolved.protocol}`);
  }
  return resolved;
}

/** The REST API's base for a WebSocket URL: the same host, over http(s). */
export function apiBaseOf(socketUrl: URL): string {
  return `${socketUrl.protocol === 'wss:' ? 'https:' : 'http:'}//${socketUrl.host}`;
}

function pageHref(): string | undefined {
  return (globalThis as { location?: { href?: string } }).location?.href;
}
