import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule, parseAppConfig } from '@app/config';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import jwt from 'jsonwebtoken';
import { AuthModule } from './auth.module';
import { HandshakeAuthenticator } from './handshake-authenticator';
import { RevokedTokens } from './revoked-tokens';
import { TokenVerifier } from './token-verifier';

const SECRET = 'unit-test-secret-0123456789abcdef';

/** An HS256 token with claims jsonwebtoken would refuse to sign. */
function handMadeToken(claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

/** Tokens of user 9 issued before `REVOKED_BEFORE` are revoked. */
const REVOKED_BEFORE = Math.floor(Date.now() / 1000) - 100;
class RevokedForUser9 extends RevokedTokens {
  isRevoked(userId: string, issuedAt: number | undefined): boolean {
    return userId === '9' && (issuedAt === undefined || issuedAt < REVOKED_BEFORE);
  }
}

@Global()
@Module({ providers: [{ provide: RevokedTokens, useClass: RevokedForUser9 }], exports: [RevokedTokens] })
class RevocationModule {}

async function moduleFor(env: Record<string, string>) {
  return Test.createTestingModule({
    imports: [ConfigModule.forRoot(parseAppConfig(env)), RevocationModule, AuthModule],
  }).compile();
}

async function authenticatorFor(env: Record<string, string>) {
  return (await moduleFor(env)).get(HandshakeAuthenticator);
}

function upgradeRequest(url: string, headers: Record<string, string> = {}): IncomingMessage {
  return { url, headers, method: 'GET' } as unknown as IncomingMessage;
}

const sign = (claims: object, options: jwt.SignOptions = {}) => jwt.sign(claims, SECRET, { expiresIn: 60, ...options });

/** Every token a session must not open with, wherever it arrives (handshake or `refresh` frame). */
const refused: Array<[string, () => string]> = [
  ['no token', () => ''],
  ['a malformed token', () => 'not.a.jwt'],
  ['a wrong signature', () => jwt.sign({ user_id: 1 }, 'another-secret')],
  ['alg none', () => jwt.sign({ user_id: 1 }, '', { algorithm: 'none' })],
  [
    'an expired token (past the clock tolerance)',
    () => jwt.sign({ user_id: 1, exp: Math.floor(Date.now() / 1000) - 60 }, SECRET),
  ],
  ['a token without exp', () => jwt.sign({ user_id: 1 }, SECRET)],
  ['a token issued in the future', () => sign({ user_id: 1, iat: Math.floor(Date.now() / 1000) + 3600 })],
  ['a token not valid before an hour from now', () => sign({ user_id: 1, nbf: Math.floor(Date.now() / 1000) + 3600 })],
  ['a string exp', () => handMadeToken({ user_id: 1, exp: 'never' })],
  ['an empty user id', () => sign({ user_id: '' })],
  ['an array user id', () => sign({ user_id: [1] })],
  ['an oversized token', () => sign({ user_id: 1, padding: 'x'.repeat(9000) })],
  ['a token with no user id', () => sign({ name: 'x' })],
  ['an object user id', () => sign({ user_id: { id: 1 } })],
  ['a user id that would escape the group name', () => sign({ user_id: '1 OR *' })],
  ['a simplejwt refresh token', () => sign({ user_id: 1, token_type: 'refresh' })],
  ['HS512 when HS256 is configured', () => jwt.sign({ user_id: 1 }, SECRET, { algorithm: 'HS512' })],
  ["a token issued before its user's cut-off", () => sign({ user_id: 9, iat: REVOKED_BEFORE - 1 })],
  ['a token without iat of a user with a cut-off', () => sign({ user_id: 9 }, { noTimestamp: true })],
];

describe('HandshakeAuthenticator (HS256)', () => {
  let authenticator: HandshakeAuthenticator;

  beforeAll(async () => {
    authenticator = await authenticatorFor({ JWT_SECRET: SECRET });
  });

  it('reads the user from a query-string token', async () => {
    const user = await authenticator.authenticate(upgradeRequest(`/ws/notifications/?token=${sign({ user_id: 42 })}`));
    expect(user).toEqual({ userId: '42', isAdmin: false, expiresAt: expect.any(Number) });
    expect(user!.expiresAt).toBeGreaterThan(Date.now());
  });

  it('reads an Authorization: Bearer header and falls back to sub', async () => {
    const user = await authenticator.authenticate(
      upgradeRequest('/ws', { authorization: `Bearer ${sign({ sub: 'alice' })}` }),
    );
    expect(user).toEqual({ userId: 'alice', isAdmin: false, expiresAt: expect.any(Number) });
  });

  it('reads the bearer subprotocol pair', async () => {
    const user = await authenticator.authenticate(
      upgradeRequest('/ws', { 'sec-websocket-protocol': `bearer, ${sign({ user_id: 7 })}` }),
    );
    expect(user?.userId).toBe('7');
  });

  it.each([
    ['is_staff', { user_id: 1, is_staff: true }],
    ['role', { user_id: 1, role: 'admin' }],
    ['roles', { user_id: 1, roles: ['viewer', 'admin'] }],
  ])('marks admins by %s', async (_, claims) => {
    const user = await authenticator.authenticate(upgradeRequest(`/ws?token=${sign(claims)}`));
    expect(user?.isAdmin).toBe(true);
  });

  it.each(refused)('refuses %s', async (_, token) => {
    expect(await authenticator.authenticate(upgradeRequest(`/ws?token=${token()}`))).toBeNull();
  });

  it('accepts a simplejwt access token', async () => {
    const user = await authenticator.authenticate(
      upgradeRequest(`/ws?token=${sign({ user_id: 3, token_type: 'access', jti: 'j' })}`),
    );
    expect(user?.userId).toBe('3');
  });
});

describe('HandshakeAuthenticator (RS256)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('verifies with the public key and refuses an HS256 token signed with that key as secret', async () => {
    const authenticator = await authenticatorFor({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: publicPem });
    const good = jwt.sign({ user_id: 5 }, privateKey, { algorithm: 'RS256', expiresIn: 60 });
    expect((await authenticator.authenticate(upgradeRequest(`/ws?token=${good}`)))?.userId).toBe('5');
    const confused = jwt.sign({ user_id: 5 }, Buffer.from(publicPem), { algorithm: 'HS256', expiresIn: 60 });
    expect(await authenticator.authenticate(upgradeRequest(`/ws?token=${confused}`))).toBeNull();
  });
});

describe('TokenVerifier (a token inside a frame)', () => {
  let verifier: TokenVerifier;

  beforeAll(async () => {
    verifier = (await moduleFor({ JWT_SECRET: SECRET })).get(TokenVerifier);
  });

  it('reads the user and expiry of a good token', () => {
    const token = sign({ user_id: 42 }, { expiresIn: 120 });
    expect(verifier.verify(token)).toEqual({ userId: '42', isAdmin: false, expiresAt: expect.any(Number) });
    expect(verifier.verify(token)!.expiresAt).toBeGreaterThan(Date.now() + 100_000);
  });

  it('accepts a token of a user with a cut-off that was issued after it', () => {
    expect(verifier.verify(sign({ user_id: 9 }))?.userId).toBe('9');
  });

  it.each(refused)('refuses %s', (_, token) => {
    expect(verifier.verify(token())).toBeNull();
  });

  it.each([null, 42, { token: 'x' }, ['a']])('refuses a token that is not a string: %p', (token) => {
    expect(verifier.verify(token)).toBeNull();
  });
});

describe('JWT_ISSUER and JWT_AUDIENCE', () => {
  const env = { JWT_SECRET: SECRET, JWT_ISSUER: 'https://auth.example', JWT_AUDIENCE: 'notifications' };
  const tokens: Array<[string, boolean, string]> = [
    ['the configured iss and aud', true, sign({ user_id: 1, iss: 'https://auth.example', aud: 'notifications' })],
    ['another iss', false, sign({ user_id: 1, iss: 'https://evil.example', aud: 'notifications' })],
    ['another aud', false, sign({ user_id: 1, iss: 'https://auth.example', aud: 'billing' })],
    ['no iss', false, sign({ user_id: 1, aud: 'notifications' })],
    ['no aud', false, sign({ user_id: 1, iss: 'https://auth.example' })],
    ['no iss or aud', false, sign({ user_id: 1 })],
  ];

  it.each(tokens)('%s: handshake and refresh agree (accepted: %s)', async (_, accepted, token) => {
    const moduleRef = await moduleFor(env);
    const atHandshake = await moduleRef.get(HandshakeAuthenticator).authenticate(upgradeRequest(`/ws?token=${token}`));
    expect(atHandshake !== null).toBe(accepted);
    expect(moduleRef.get(TokenVerifier).verify(token) !== null).toBe(accepted);
  });
});

describe('HandshakeAuthenticator clock tolerance (JWT_CLOCK_TOLERANCE_SECONDS, default 30)', () => {
  const expiredFor = (seconds: number) =>
    jwt.sign({ user_id: 9, exp: Math.floor(Date.now() / 1000) - seconds }, SECRET);

  it('admits a token 10 s past its exp by default, and refuses it with no tolerance', async () => {
    const tolerant = await authenticatorFor({ JWT_SECRET: SECRET });
    expect((await tolerant.authenticate(upgradeRequest(`/ws?token=${expiredFor(10)}`)))?.userId).toBe('9');
    expect(await tolerant.authenticate(upgradeRequest(`/ws?token=${expiredFor(40)}`))).toBeNull();
    const strict = await authenticatorFor({ JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE_SECONDS: '0' });
    expect(await strict.authenticate(upgradeRequest(`/ws?token=${expiredFor(10)}`))).toBeNull();
  });
});
