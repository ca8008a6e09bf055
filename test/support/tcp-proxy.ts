import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of a real service, so a test can take the service away from one app and
 * bring it back (`cut()`, `restore()`) without touching the service everyone else uses.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  /** The proxy's connections to the service, by which the service tells this proxy's clients apart. */
  private readonly upstreams = new Set<Socket>();
  private server: Server | null = null;
  private port = 0;
  private stalled = false;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Proxies the host and port of `serviceUrl`; `url` is that URL pointed at the proxy. */
  static async start(serviceUrl: string, defaultPort: number): Promise<{ proxy: TcpProxy; url: string }> {
    const target = new URL(serviceUrl);
    const proxy = new TcpProxy(target.hostname, Number(target.port || defaultPort));
    await proxy.restore();
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port);
    return { proxy, url: target.toString() };
  }

  /** Listens again on the same port (no-op while listening). */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      if (this.stalled) return this.hold(client);
      const upstream = connect(this.targetPort, this.targetHost);
      this.upstreams.add(upstream);
      upstream.on('close', () => this.upstreams.delete(upstream));
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /**
   * The local ports of the open connections to the service: the service sees this proxy's clients
   * at these ports (Redis' CLIENT LIST `addr`), so a test can pick one of them out.
   */
  upstreamPorts(): number[] {
    return [...this.upstreams].map((socket) => socket.localPort).filter((port): port is number => port !== undefined);
  }

  /** Refuses new connections and keeps the open ones, so that only what is dropped otherwise stays away. */
  refuseNew(): void {
    // close() stops listening at once; its callback would wait for the open connections to end.
    this.server?.close();
    this.server = null;
  }

  /**
   * Accepts connections and never answers, as a service that hangs (a full disk, a stopped
   * process still holding its port): open connections stop carrying anything, new ones are held.
   * `cut()` ends it.
   */
  stall(): void {
    this.stalled = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  private hold(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
  }

  /** Drops every open connection and refuses new ones, as a service that went down. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.stalled = false;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
