import { randomBytes } from 'node:crypto';
import { LoginResponse } from '@multiclaw/protocol';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { createTestApp } from './app.js';

export type TestUser = { id: string; token: string };
type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/**
 * Request helpers for API tests: `send` injects a request from one client
 * (fixed address and user agent, optional bearer token), `signUp` registers
 * and signs in a fresh user, `workspace` creates a workspace with the given
 * owners and members directly in the database.
 */
export function testActors(
  app: () => TestApp,
  client: { address: string; userAgent: string; password: string },
) {
  function send(options: InjectOptions & { token?: string | undefined }): Promise<LightMyRequestResponse> {
    const { token, ...rest } = options;
    return app().app.inject({
      remoteAddress: client.address,
      ...rest,
      headers: {
        'user-agent': client.userAgent,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...rest.headers,
      },
    });
  }

  async function signUp(): Promise<TestUser> {
    const email = `user-${randomBytes(5).toString('hex')}@example.com`;
    const payload = { email, password: client.password };
    const registered = await send({ method: 'POST', url: '/v1/auth/register', payload });
    expect(registered.statusCode, registered.body).toBe(201);
    const login = await send({ method: 'POST', url: '/v1/auth/login', payload });
    expect(login.statusCode, login.body).toBe(200);
    const body = LoginResponse.parse(login.json());
    return { id: body.user.id, token: body.accessToken };
  }

  async function workspace(owners: TestUser[], members: TestUser[] = []): Promise<string> {
    const created = await app().app.db.workspace.create({
      data: {
        name: `ws-${randomBytes(3).toString('hex')}`,
        memberships: {
          create: [
            ...owners.map((user) => ({ userId: user.id, role: 'owner' as const })),
            ...members.map((user) => ({ userId: user.id, role: 'member' as const })),
          ],
        },
      },
    });
    return created.id;
  }

  return { send, signUp, workspace };
}
