import { createServer } from 'node:net';

/** Whether a loopback port can be listened on (nothing else has it). */
export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` free ports in 20000-29999, for servers the tests start themselves. `busOffset`: each port
 * plus it must be free too (a Redis Cluster node's bus port is its port + 10000).
 */
export async function sparePorts(count: number, busOffset?: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (ports.includes(port) || !(await isFree(port))) continue;
    if (busOffset === undefined || (await isFree(port + busOffset))) ports.push(port);
  }
  return ports;
}
