import type { INestApplication } from '@nestjs/common';
import { RedisFanout } from '@app/fanout';
import type { AddressInfo } from 'node:net';
import { TestSocket, eventually, signToken, testConfig } from '@test/support/test-context';
import { createGateway } from '../gateway.factory';

const token = (userId: string, expiresIn: number, claims: object = {}) =>
  signToken({ user_id: userId, ...claims }, undefined, { expiresIn });

/** The `refresh` frame, against a real gateway: a socket outlives its first token only by a good one. */
describe('token refresh on a live socket (real WebSocket and Redis)', () => {
  const config = testConfig({ JWT_CLOCK_TOLERANCE_SECONDS: '0' });
  let gateway: INestApplication;
  let ws: string;
  let http: string;
  const fanout = new RedisFanout(config);

  beforeAll(async () => {
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    const { port } = gateway.getHttpServer().address() as AddressInfo;
    ws = `ws://127.0.0.1:${port}/ws/notifications/`;
    http = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await gateway.close();
    await fanout.onModuleDestroy();
  });

  it('moves the expiry to the new token: the socket stays open past the old one and keeps receiving', async () => {
    const socket = await TestSocket.open(`${ws}?token=${token('refresher', 2)}`);
    const fresh = token('refresher', 60);
    socket.send({ event: 'refresh', data: { token: fresh } });
    const refreshed = await eventually(() => socket.framesOf('refreshed')[0]);
    const expiresAt = Date.parse((refreshed.data as { expires_at: string }).expires_at);
    expect(Math.abs(expiresAt - (Date.now() + 60_000))).toBeLessThan(3000);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(socket.closeCode).toBeNull();
    await fanout.publish('Notifications_refresher', '{"event":"receipt","data":{"after":"refresh"}}');
    await eventually(() => socket.framesOf('receipt')[0]);
    await socket.close();
  });

  it.each([
    ['a wrongly signed token', () => signToken({ user_id: 'refused' }, 'not-the-secret')],
    ['an expired token', () => token('refused', -10)],
    ['a simplejwt refresh token', () => token('refused', 60, { token_type: 'refresh' })],
    ['a token that is not a string', () => 42],
    ['no token at all', () => undefined],
  ])('answers %s with invalid_token and keeps the old expiry (4001)', async (_, newToken) => {
    const socket = await TestSocket.open(`${ws}?token=${token('refused', 2)}`);
    socket.send({ event: 'refresh', data: { token: newToken() } });
    const error = await eventually(() => socket.framesOf('error')[0]);
    expect(error.data).toMatchObject({ code: 'invalid_token' });
    await eventually(() => socket.closeCode ?? undefined, 6000);
    expect(socket.closeCode).toBe(4001);
    expect(socket.framesOf('refreshed')).toEqual([]);
  });

  it("answers another user's token with user_mismatch and keeps the old expiry", async () => {
    const socket = await TestSocket.open(`${ws}?token=${token('mine', 2)}`);
    socket.send({ event: 'refresh', data: { token: token('theirs', 60) } });
    const error = await eventually(() => socket.framesOf('error')[0]);
    expect(error.data).toMatchObject({ code: 'user_mismatch' });
    await eventually(() => socket.closeCode ?? undefined, 6000);
    expect(socket.closeCode).toBe(4001);
  });

  it('counts refresh frames by outcome', async () => {
    const text = await (await fetch(`${http}/metrics`)).text();
    const count = (outcome: string) =>
      Number(new RegExp(`notify_token_refreshes_total\\{outcome="${outcome}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect(count('refreshed')).toBe(1);
    expect(count('invalid_token')).toBe(5);
    expect(count('user_mismatch')).toBe(1);
    expect(text).toMatch(/notify_socket_disconnects_total\{cause="token_expired"[^}]*\} 6/);
  });
});
