import type { AddressInfo } from 'node:net';
import { buildApp, createLogger, createPrismaClient } from '@multiclaw/cloud';
import Fastify from 'fastify';
import pg from 'pg';
import { benchConfig, benchDatabase } from '../lib/database.js';
import { compareInterleaved, envNumber } from '../lib/measure.js';

/**
 * Authorised reads per second: `GET /v1/workspaces/:wid/agents` through the
 * real app over HTTP on loopback (bearer JWT verification, live-session check,
 * membership and permission lookup, validation, the list query, the secret
 * grants, serialisation), against the same list query served by a bare
 * Fastify route on `pg` with no auth, in the same run on the same database.
 * The ratio says what authentication and authorisation cost a read.
 */
const seconds = envNumber('BENCH_SECONDS', 10);
const concurrency = envNumber('BENCH_CONCURRENCY', 2);
const agentCount = 20;
const password = 'benchmark passphrase 1234';

const database = await benchDatabase();
const config = benchConfig(database.url, {
  AUTH_RATE_LIMIT_MAX: '100000',
});
const db = createPrismaClient(database.url);
const app = await buildApp({ config, db, logger: createLogger({ level: 'silent' }) });
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

// The raw baseline: the same query, a bare Fastify route, node-postgres, no auth.
const pool = new pg.Pool({ connectionString: database.url });
const raw = Fastify({ logger: false });
raw.get<{ Params: { wid: string } }>('/agents/:wid', async (request) => {
  const { rows } = await pool.query(
    `SELECT id, name, description, provider, model, system_prompt, params, tools, version, created_at, updated_at
       FROM agents WHERE workspace_id = $1 ORDER BY created_at, id LIMIT 50`,
    [request.params.wid],
  );
  return { items: rows, nextCursor: null };
});
await raw.listen({ host: '127.0.0.1', port: 0 });
const rawBase = `http://127.0.0.1:${(raw.server.address() as AddressInfo).port}`;

async function json(url: string, init: RequestInit, status: number): Promise<unknown> {
  const response = await fetch(url, init);
  if (response.status !== status) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

try {
  const email = 'bench@example.com';
  const post = (body: unknown, token?: string): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  await json(`${base}/v1/auth/register`, post({ email, password }), 201);
  const login = (await json(`${base}/v1/auth/login`, post({ email, password }), 200)) as {
    accessToken: string;
    user: { id: string };
  };
  const token = login.accessToken;
  const workspace = await db.workspace.create({
    data: { name: 'bench', memberships: { create: { userId: login.user.id, role: 'owner' } } },
  });
  for (let i = 0; i < agentCount; i++) {
    await json(
      `${base}/v1/workspaces/${workspace.id}/agents`,
      post(
        {
          name: `agent ${i}`,
          description: 'A benchmark agent',
          provider: 'anthropic',
          model: 'claude-sonnet-4',
          systemPrompt: 'You are a helpful assistant. '.repeat(40),
          params: { temperature: 0.3, maxTokens: 4096 },
          tools: ['web-search', 'fs-read'],
        },
        token,
      ),
      201,
    );
  }

  const read = (url: string, headers: Record<string, string>) => async () => {
    const body = (await json(url, { headers }, 200)) as { items: unknown[] };
    if (body.items.length !== agentCount)
      throw new Error(`expected ${agentCount} agents, got ${body.items.length}`);
  };
  // In alternating one-second slices: a shared machine's load weighs on both alike.
  const { baseline, subject, ratio } = await compareInterleaved(
    read(`${rawBase}/agents/${workspace.id}`, {}),
    read(`${base}/v1/workspaces/${workspace.id}/agents`, { authorization: `Bearer ${token}` }),
    { seconds, concurrency },
  );

  console.log(
    JSON.stringify(
      {
        benchmark: 'authorized-read',
        params: { seconds, concurrency, agents: agentCount },
        baseline: { name: 'bare Fastify + pg, same SELECT, no auth', ...baseline },
        subject: { name: 'GET /v1/workspaces/:wid/agents over HTTP (authenticated, authorised)', ...subject },
        ratio,
      },
      null,
      2,
    ),
  );
} finally {
  await raw.close();
  await pool.end();
  await app.close();
  await database.stop();
}
