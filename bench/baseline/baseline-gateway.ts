/**
 * The baseline gateway: ws, jsonwebtoken and ioredis, without the framework. Authenticates the
 * `token` query parameter, subscribes to the user's channel, forwards frames as they come, and
 * answers the SDK's application ping (`{"event":"ping"}`) with a pong, so that what a ping costs
 * the service has a floor to be read against (scenario 6).
 */
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const env = process.env;
const prefix = env.REDIS_CHANNEL_PREFIX ?? 'notifications:';
const subscriber = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const groups = new Map<string, Set<WebSocket>>();
const server = createServer((_, response) => response.writeHead(404).end());
const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

subscriber.on('messageBuffer', (channel: Buffer, frame: Buffer) => {
  for (const socket of groups.get(channel.toString().slice(prefix.length)) ?? []) socket.send(frame, { binary: false });
});

server.on('upgrade', (request, socket, head) => {
  let userId: string;
  try {
    const token = new URL(request.url ?? '/', 'http://x').searchParams.get('token') ?? '';
    const claims = jwt.verify(token, env.JWT_SECRET!, { algorithms: ['HS256'] }) as { user_id: unknown };
    userId = String(claims.user_id);
  } catch {
    socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
    return;
  }
  sockets.handleUpgrade(request, socket, head, (ws) => void join(ws, userId).catch(() => ws.close(1013)));
});

async function join(ws: WebSocket, userId: string): Promise<void> {
  const group = `Notifications_${userId}`;
  let members = groups.get(group);
  if (!members) {
    groups.set(group, (members = new Set()));
    await subscriber.subscribe(prefix + group);
  }
  members.add(ws);
  ws.on('message', (data) => {
    const frame = JSON.parse((data as Buffer).toString()) as { event?: unknown; data?: unknown; ref?: unknown };
    if (frame.event === 'ping') ws.send(JSON.stringify({ event: 'pong', data: frame.data ?? null, ref: frame.ref }));
  });
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0) {
      groups.delete(group);
      void subscriber.unsubscribe(prefix + group);
    }
  });
  ws.send(JSON.stringify({ event: 'connected' }));
}

server.listen(Number(env.PORT ?? 0), () =>
  console.log(`baseline gateway listening on ${JSON.stringify(server.address())}`),
);
process.once('SIGTERM', () => {
  for (const members of groups.values()) for (const ws of members) ws.terminate();
  server.close(() => process.exit(0));
});
