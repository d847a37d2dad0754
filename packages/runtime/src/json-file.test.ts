import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type JsonFileSchema, readJsonFile } from './json-file.js';

/** A schema in the shape zod's safeParse answers (runtime does not depend on zod). */
const Record: JsonFileSchema<{ n: number }> = {
  safeParse: (input) =>
    typeof input === 'object' && input !== null && typeof (input as { n?: unknown }).n === 'number'
      ? { success: true, data: input as { n: number } }
      : { success: false, error: { issues: [{ message: 'n: expected a number' }] } },
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mc-runtime-json-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it('tells a missing file, a file that is not JSON, one the schema refuses and a good one apart', async () => {
  const path = join(root, 'record.json');
  expect(await readJsonFile(path, Record)).toEqual({ state: 'missing' });
  await writeFile(path, '{"n": 1');
  expect(await readJsonFile(path, Record)).toMatchObject({ state: 'damaged', reason: 'json' });
  await writeFile(path, '{"n": "one"}');
  const refused = await readJsonFile(path, Record);
  expect(refused).toMatchObject({ state: 'damaged', reason: 'schema' });
  expect(refused.state === 'damaged' && refused.issue).toMatch(/number/);
  await writeFile(path, '{"n": 1}\n');
  expect(await readJsonFile(path, Record)).toEqual({ state: 'ok', value: { n: 1 } });
});

it('throws any other read error (a directory where the file should be)', async () => {
  await expect(readJsonFile(root, Record)).rejects.toMatchObject({ code: 'EISDIR' });
});
