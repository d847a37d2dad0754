import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listCrashLogs, writeCrashLog } from './crash-log.js';

const program = { command: 'multiclaw-desktop', version: '9.9.9' };

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mc-runtime-crash-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it('writes a crash log 0600 in a 0700 folder of the state directory, and lists them newest first', async () => {
  const dir = join(root, 'crash');
  const first = writeCrashLog(dir, program, new Error('boom one'), new Date('2030-01-01T00:00:00Z'));
  const second = writeCrashLog(dir, program, 'not an Error', new Date('2030-01-02T00:00:00Z'));
  expect((await stat(dir)).mode & 0o777).toBe(0o700);
  expect((await stat(first)).mode & 0o777).toBe(0o600);
  const text = await readFile(first, 'utf8');
  expect(text).toContain('MultiClaw desktop 9.9.9 crashed at 2030-01-01T00:00:00.000Z');
  expect(text).toContain('Error: boom one');
  expect(await readFile(second, 'utf8')).toContain('not an Error');
  expect(listCrashLogs(dir)).toEqual([second, first].map((path) => path.slice(dir.length + 1)));
  expect(listCrashLogs(join(root, 'nowhere'))).toEqual([]);
});
