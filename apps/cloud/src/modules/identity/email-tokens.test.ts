import { manualClock } from '@multiclaw/test-support/clock';
import { expect, it } from 'vitest';
import { useTestDatabaseClient } from '../../../test/support/database-client.js';
import type { Database } from '../../db/client.js';
import { createEmailTokens, LIMIT_WINDOW_MS } from './email-tokens.js';

let db: Database;
useTestDatabaseClient((ready) => {
  db = ready.db;
});

it('pruning keeps an expired code while an hourly sending limit still counts it', async () => {
  const clock = manualClock('2030-01-01T00:00:00Z');
  const tokens = createEmailTokens({ db, now: clock.now });
  const user = await db.user.create({ data: { email: 'limits@example.com' } });
  const since = () => new Date(clock.nowMs() - LIMIT_WINDOW_MS);

  const code = await tokens.issue({
    userId: user.id,
    email: user.email,
    purpose: 'reset_password',
    ttlSeconds: 30 * 60,
  });
  clock.advanceSeconds(31 * 60);
  expect(await tokens.spend('reset_password', code)).toBeNull();
  await tokens.prune();
  // Expired, yet still one of the last hour's codes: the limit must see it.
  expect(await tokens.sentSince(user.id, 'reset_password', since())).toBe(1);

  clock.advanceSeconds(60 * 60);
  expect(await tokens.prune()).toBe(1);
  expect(await db.emailToken.count({ where: { userId: user.id } })).toBe(0);
});

it('a code is spent once, even by concurrent attempts', async () => {
  const tokens = createEmailTokens({ db, now: () => new Date() });
  const user = await db.user.create({ data: { email: 'race@example.com' } });
  const code = await tokens.issue({
    userId: user.id,
    email: user.email,
    purpose: 'verify_email',
    ttlSeconds: 600,
  });
  const results = await Promise.all(Array.from({ length: 8 }, () => tokens.spend('verify_email', code)));
  expect(results.filter((r) => r !== null)).toHaveLength(1);
  // Another purpose, or an address the account no longer has, never spends it.
  const other = await tokens.issue({
    userId: user.id,
    email: user.email,
    purpose: 'verify_email',
    ttlSeconds: 600,
  });
  expect(await tokens.spend('reset_password', other)).toBeNull();
  await db.user.update({ where: { id: user.id }, data: { email: 'renamed@example.com' } });
  expect(await tokens.spend('verify_email', other)).toBeNull();
});
