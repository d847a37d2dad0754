import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecord } from '../store/record-file.js';
import { IdempotencyLog } from './idempotency-log.js';

let dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  dirs = [];
});

async function logPath() {
  const dir = await mkdtemp(join(tmpdir(), 'gw-idem-'));
  dirs.push(dir);
  return join(dir, 'idempotency.log');
}

const entry = (key: string, at = Date.now()) => ({
  key,
  requestHash: `hash-${key}`,
  runId: `run-${key}`,
  sessionKey: `session-${key}`,
  at,
});

describe('IdempotencyLog run states', () => {
  it('reads a run still running when the log is opened as interrupted, and a finished one as finished', async () => {
    const path = await logPath();
    const log = await IdempotencyLog.open(path);
    await log.record({ ...entry('cut'), state: 'running' });
    await log.record({ ...entry('ended'), state: 'running' });
    await log.setState('ended', 'done');

    const reopened = await IdempotencyLog.open(path);
    expect(reopened.get('cut')?.state).toBe('interrupted');
    expect(reopened.get('ended')).toMatchObject({ runId: 'run-ended', state: 'done' });
    // Compacted to one record per key, keeping what each state means.
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(2);
    expect((await IdempotencyLog.open(path)).get('cut')?.state).toBe('interrupted');
  });

  it('opens a log written before run states existed, reading its keys as done', async () => {
    const path = await logPath();
    await appendFile(path, encodeRecord(entry('legacy')));
    const log = await IdempotencyLog.open(path);
    expect(log.get('legacy')).toMatchObject({ runId: 'run-legacy' });
    expect(log.get('legacy')?.state).toBeUndefined();
  });

  it('forgets keys older than a day, with all their records', async () => {
    const path = await logPath();
    const old = Date.now() - IdempotencyLog.RETENTION_MS - 1000;
    await appendFile(path, encodeRecord({ ...entry('old', old), state: 'running' }));
    await appendFile(path, encodeRecord({ ...entry('old', old), state: 'done' }));
    const log = await IdempotencyLog.open(path);
    expect(log.get('old')).toBeUndefined();
  });
});
