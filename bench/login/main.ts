import type { AddressInfo } from 'node:net';
import { buildApp, createLogger, createPrismaClient } from '@multiclaw/cloud';
import { hash, verify } from '@node-rs/argon2';
import { benchConfig, benchDatabase } from '../lib/database.js';
import { compareInterleaved, envNumber } from '../lib/measure.js';

/**
 * Sign-ins per second through the real HTTP API (Fastify, validation, the
 * lockout row, argon2id, a new session, audit), against raw argon2id
 * verifications per second with the same parameters and concurrency, in the
 * same run. The ratio says how much the API adds on top of the hash.
 */
const seconds = envNumber('BENCH_SECONDS', 10);
const concurrency = envNumber('BENCH_CONCURRENCY', 2);
const argon2 = { memoryKiB: 19_456, timeCost: 2, parallelism: 1 };
const password = 'benchmark passphrase 1234';

const database = await benchDatabase();
const config = benchConfig(database.url, {
  AUTH_ARGON2_MEMORY_KIB: String(argon2.memoryKiB),
  AUTH_ARGON2_TIME_COST: String(argon2.timeCost),
  AUTH_ARGON2_PARALLELISM: String(argon2.parallelism),
  AUTH_HASH_CONCURRENCY: String(concurrency),
  AUTH_RATE_LIMIT_MAX: '100000',
});
const app = await buildApp({
  config,
  db: createPrismaClient(database.url),
  logger: createLogger({ level: 'silent' }),
});
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

try {
  // Raw baseline: the same argon2id parameters, verified directly.
  const phc = await hash(password, {
    algorithm: 2,
    memoryCost: argon2.memoryKiB,
    timeCost: argon2.timeCost,
    parallelism: argon2.parallelism,
  });

  const email = 'bench@example.com';
  const registered = await fetch(`${base}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status}`);
  // Raw verifications and sign-ins in alternating one-second slices: a shared machine's load weighs on both alike.
  const {
    baseline: raw,
    subject: api,
    ratio,
  } = await compareInterleaved(
    () => verify(phc, password),
    async () => {
      const response = await fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password, clientName: 'bench' }),
      });
      if (response.status !== 200)
        throw new Error(`login failed: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    },
    { seconds, concurrency },
  );

  console.log(
    JSON.stringify(
      {
        benchmark: 'login',
        params: { seconds, concurrency, argon2 },
        baseline: { name: 'raw argon2id verify', ...raw },
        subject: { name: 'POST /v1/auth/login over HTTP', ...api },
        ratio,
      },
      null,
      2,
    ),
  );
} finally {
  await app.close();
  await database.stop();
}
