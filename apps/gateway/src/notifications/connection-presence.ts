/**
 * How many sockets and users this gateway holds: what the admin dashboard shows. Read-only, so a
 * reader of counts cannot reach the connections themselves.
 */
export abstract class ConnectionPresence {
  abstract get connectionCount(): number;
  /** Users with at least one socket here (one group each). */
  abstract get userCount(): number;
}
