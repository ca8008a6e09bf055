/**
 * A service URL as it may be logged or printed: user and password removed (an AMQP or Postgres
 * URL usually carries them), everything else kept so that the reader sees where it looked.
 * Something that does not parse as a URL is not echoed at all: it may be a secret pasted wrongly.
 */
export function urlWithoutCredentials(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(not a URL)';
  }
  // `user:password` alone parses as a URL of scheme `user`.
  if (!parsed.host) return '(not a URL)';
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}
