import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { ErrorEnvelope } from '@multiclaw/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../test/support/actors.js';
import { createTestApp } from '../../test/support/app.js';

/**
 * Each case here was a 500 (or a connection held open for minutes) before:
 * the inputs an attacker sends first. Every answer must be a 4xx in the error
 * envelope; none may reach the database in a form it refuses.
 */
const PASSWORD = 'correct horse battery staple 7';
const PROXY = '10.0.0.1';
let ctx: Awaited<ReturnType<typeof createTestApp>>;
let owner: TestUser;
let outsider: TestUser;

const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.20',
  userAgent: 'hostile-input-test/1.0',
  password: PASSWORD,
});

beforeAll(async () => {
  ctx = await createTestApp({ env: { AUTH_RATE_LIMIT_MAX: '10000', TRUST_PROXY: PROXY } });
  [owner, outsider] = await Promise.all([signUp(), signUp()]);
});
afterAll(async () => {
  await ctx?.close();
});

function refused(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(ErrorEnvelope.parse(response.json()).error.code).toBe(code);
}

describe('U+0000 in any string', () => {
  it('is a 400 naming the field, also on unauthenticated routes', async () => {
    const nul = `a\u0000b-${randomBytes(3).toString('hex')}@example.com`;
    const register = await send({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: nul, password: PASSWORD },
    });
    expect(register.statusCode).toBe(400);
    const login = await send({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: nul, password: PASSWORD },
    });
    refused(login, 400, 'VALIDATION_FAILED');
    expect(ErrorEnvelope.parse(login.json()).error.details?.issues?.[0]?.path).toBe('body.email');
    const password = await send({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'someone@example.com', password: 'pass\u0000word' },
    });
    refused(password, 400, 'VALIDATION_FAILED');
  });

  it('in a workspace name, an agent field or a nested value', async () => {
    refused(
      await send({
        method: 'POST',
        url: '/v1/workspaces',
        token: owner.token,
        payload: { name: 'team\u0000' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    const wid = await workspace([owner]);
    const agent = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/agents`,
      token: owner.token,
      payload: { name: 'agent', provider: 'anthropic', model: 'claude', systemPrompt: 'be \u0000 kind' },
    });
    refused(agent, 400, 'VALIDATION_FAILED');
    expect(await ctx.app.db.agent.count({ where: { workspaceId: wid } })).toBe(0);
  });
});

describe('X-Forwarded-For from a trusted proxy that is not a bare address', () => {
  it.each([
    ['198.51.100.7:4711', '198.51.100.7'],
    ['[2001:db8::7]:443', '2001:db8::7'],
    ['fe80::1%eth0', 'fe80::1'],
    ['unknown', PROXY],
    ['not an address at all', PROXY],
  ])('%s signs in and is recorded as %s', async (forwarded, recorded) => {
    const user = await signUp();
    const email = (await ctx.app.db.user.findUniqueOrThrow({ where: { id: user.id } })).email;
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      remoteAddress: PROXY,
      headers: { 'x-forwarded-for': forwarded },
      payload: { email, password: PASSWORD },
    });
    expect(login.statusCode, login.body).toBe(200);
    const sessions = await ctx.app.db.$queryRaw<Array<{ ip: string }>>`
      SELECT host(ip) AS ip FROM sessions WHERE user_id = ${user.id}::uuid ORDER BY created_at DESC LIMIT 1`;
    expect(sessions[0]?.ip).toBe(recorded);
  });
});

describe('a path that is not valid percent-encoded UTF-8', () => {
  it('is a 400 in the envelope (Fastify answered it in its own shape)', async () => {
    const wid = await workspace([owner]);
    refused(
      await send({ method: 'GET', url: `/v1/workspaces/${wid}/agents/%ED%A0%80`, token: owner.token }),
      400,
      'BAD_REQUEST',
    );
    refused(await send({ method: 'GET', url: '/v1/auth/oidc/%ff/start' }), 400, 'BAD_REQUEST');
  });
});

describe('out-of-range cursors, dates and numbers', () => {
  const keysetCursor = (createdAt: string, id: string) =>
    Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
  const auditCursor = (seq: string) => Buffer.from(`a1:${seq}`).toString('base64url');

  it.each([
    [
      'agents',
      (wid: string) =>
        `/v1/workspaces/${wid}/agents?cursor=${keysetCursor('0000-01-01T00:00:00.000Z', '0b6f3a2e-7c1d-4e8a-9f00-1234567890ab')}`,
    ],
    [
      'secrets',
      (wid: string) =>
        `/v1/workspaces/${wid}/secrets?cursor=${keysetCursor('0000-01-01T00:00:00Z', '0b6f3a2e-7c1d-4e8a-9f00-1234567890ab')}`,
    ],
    [
      'audit (bigint overflow)',
      (wid: string) => `/v1/workspaces/${wid}/audit?cursor=${auditCursor('9999999999999999999')}`,
    ],
    ['audit (from year 0)', (wid: string) => `/v1/workspaces/${wid}/audit?from=0000-01-01T00:00:00Z`],
    ['audit (to far future)', (wid: string) => `/v1/workspaces/${wid}/audit?to=275760-09-13T00:00:00Z`],
    ['agents (huge limit)', (wid: string) => `/v1/workspaces/${wid}/agents?limit=1e400`],
  ])('%s is a 400', async (_name, url) => {
    const wid = await workspace([owner]);
    refused(await send({ method: 'GET', url: url(wid), token: owner.token }), 400, 'VALIDATION_FAILED');
  });
});

describe('an outsider learns nothing from a foreign workspace, whatever the body', () => {
  it('answers 404 before validating', async () => {
    const wid = await workspace([owner]);
    for (const payload of [
      {},
      { name: 7 },
      'not json at all',
      { name: 'fine', provider: 'anthropic', model: 'x' },
    ]) {
      const response = await send({
        method: 'POST',
        url: `/v1/workspaces/${wid}/agents`,
        token: outsider.token,
        payload,
        headers: { 'content-type': 'application/json' },
      });
      // Unparseable JSON is refused by the parser before any route runs; everything else is a 404.
      if (typeof payload === 'string') expect(response.statusCode).toBe(400);
      else refused(response, 404, 'NOT_FOUND');
    }
    refused(
      await send({ method: 'GET', url: `/v1/workspaces/not-a-uuid/agents?limit=0`, token: outsider.token }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('slow clients', () => {
  // Without the server's limit the trickle goes on and the test times out.
  it('a body trickled byte by byte is cut at REQUEST_TIMEOUT_MS with the error envelope', async () => {
    const slow = await createTestApp({
      databaseUrl: ctx.databaseUrl,
      env: { REQUEST_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '1000' },
    });
    try {
      await slow.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = slow.app.server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk) => {
          received += chunk.toString('utf8');
        });
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
        socket.write(
          'POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
        );
        const trickle = setInterval(() => {
          if (!socket.destroyed) socket.write(' ');
        }, 500);
        socket.on('close', () => clearInterval(trickle));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      expect(ErrorEnvelope.parse(JSON.parse(body)).error.code).toBe('REQUEST_TIMEOUT');
    } finally {
      await slow.app.close();
    }
  });
});
