/**
 * Who this gateway holds sockets for: what cluster presence and the dashboard read. Read-only, so a
 * reader of counts cannot reach the connections themselves.
 */
export abstract class ConnectionPresence {
  /** Sockets and Server-Sent Events streams. */
  abstract get connectionCount(): number;
  /** Of those, Server-Sent Events streams. */
  abstract get streamCount(): number;
  /** Users with at least one socket here (one group each). */
  abstract get userCount(): number;
  abstract socketsOf(userId: string): number;
  /** Every user with a socket here, with how many. */
  abstract socketCounts(): Map<string, number>;
}
