/** A kombu mailbox message, as `Mailbox._publish` (kombu/pidbox.py) writes it. */
export interface MailboxMessage {
  method: string;
  arguments?: unknown;
  /** The node names it is for; absent or empty: every node. */
  destination?: string[] | null;
  pattern?: string | null;
  /** `glob` or `pcre` (kombu/matcher.py). */
  matcher?: string | null;
  reply_to?: { exchange: string; routing_key: string } | null;
  ticket?: string | null;
}

/** Whether the node `hostname` runs the message, as kombu's `Node.handle_message` decides. */
export function isAddressedTo(message: MailboxMessage, hostname: string): boolean {
  if (Array.isArray(message.destination) && message.destination.length > 0)
    return message.destination.includes(hostname);
  if (typeof message.pattern === 'string' && typeof message.matcher === 'string')
    return matches(hostname, message.pattern, message.matcher);
  return true;
}

function matches(hostname: string, pattern: string, matcher: string): boolean {
  if (matcher === 'pcre') {
    try {
      // Python's re.match: from the start of the name (sticky), not necessarily to its end.
      return new RegExp(pattern, 'y').test(hostname);
    } catch {
      return false;
    }
  }
  if (matcher === 'glob') return globToRegExp(pattern).test(hostname);
  return false;
}

/** fnmatch: `*`, `?` and `[...]`, the whole name. */
function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        const set = pattern.slice(i + 1, end);
        source += `[${set.startsWith('!') ? `^${set.slice(1)}` : set}]`;
        i = end;
      }
    } else source += char.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
