/**
 * The config's atomic writes (@multiclaw/runtime/atomic-write, tested there on its own) under
 * SIGKILL of a real writer process: every kill leaves one complete config, never a torn one.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleTempFiles, writeFileAtomic } from '@multiclaw/runtime/atomic-write';
import { isRunning } from '@multiclaw/runtime/process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allLanes, delay, spawnTs } from '../../test/crash/harness.js';
import { serializeConfig } from './config-file.js';
import { defaultGatewayConfig, type GatewayConfig, parseGatewayConfig } from './schema.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-atomic-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A config of about 1 MB (a long agent list), so one write takes measurable time. */
function bigConfig(port: number, letter: string): GatewayConfig {
  const base = defaultGatewayConfig();
  return {
    ...base,
    gateway: { ...base.gateway, port },
    agents: {
      list: Array.from({ length: 300 }, (_, index) => ({
        id: `agent-${index}`,
        name: `Agent ${index}`,
        model: 'openai/gpt-4o',
        systemPrompt: letter.repeat(3_000),
      })),
    },
  };
}

type Observation = 'a' | 'b' | 'torn';

interface KillLoopResult {
  observations: Observation[];
  /** Iterations after which a temp file of the killed writer was left: the kill landed mid-write. */
  killsMidWrite: number;
  tornSamples: string[];
}

/**
 * Starts the writer child, SIGKILLs it 0–maxDelayMs after it is ready, and looks at the file,
 * `iterations` times (or until `stopWhenTorn` and a torn file was seen), in `lanes` parallel directories.
 */
async function killLoop(options: {
  mode: 'atomic' | 'in-place';
  lanes: number;
  iterations: number;
  maxDelayMs: number;
  stopWhenTorn?: boolean;
}): Promise<KillLoopResult> {
  const texts = { a: serializeConfig(bigConfig(18_789, 'a')), b: serializeConfig(bigConfig(18_790, 'b')) };
  expect(texts.a).not.toBe(texts.b);
  expect(texts.a.length).toBeGreaterThan(900_000);
  const valid = { a: parseGatewayConfig('a', texts.a), b: parseGatewayConfig('b', texts.b) };
  const result: KillLoopResult = { observations: [], killsMidWrite: 0, tornSamples: [] };
  const sources = await mkdtemp(join(root, 'sources-'));
  const aPath = join(sources, 'a.json');
  const bPath = join(sources, 'b.json');
  await writeFile(aPath, texts.a);
  await writeFile(bPath, texts.b);
  let torn = false;

  const lane = async () => {
    const dir = await mkdtemp(join(root, `${options.mode}-`));
    const target = join(dir, 'openclaw.json');
    await writeFileAtomic(target, texts.a);
    for (let iteration = 0; iteration < options.iterations && !(options.stopWhenTorn && torn); iteration++) {
      const child = spawnTs('config-writer.ts', [target, aPath, bPath, options.mode]);
      try {
        await child.waitForLine((line) => line === 'ready');
        await delay(Math.random() * options.maxDelayMs);
      } finally {
        await child.kill();
      }
      // It died of our SIGKILL, not of something else (which would make this test prove nothing).
      expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(isRunning(child.pid)).toBe(false);

      const text = await readFile(target, 'utf8');
      if (text === texts.a || text === texts.b) {
        const which = text === texts.a ? 'a' : 'b';
        expect(parseGatewayConfig(target, text)).toEqual(valid[which]);
        result.observations.push(which);
      } else {
        result.observations.push('torn');
        result.tornSamples.push(`${text.length} bytes`);
        torn = true;
        await writeFileAtomic(target, texts.a);
      }
      const removed = await removeStaleTempFiles(target);
      for (const name of removed)
        expect(name).toMatch(new RegExp(`^\\.openclaw\\.json\\.${child.pid}\\.[0-9a-f]{12}\\.tmp$`));
      if (removed.length) result.killsMidWrite++;
      expect(await readdir(dir)).toEqual(['openclaw.json']);
    }
  };
  await allLanes(Array.from({ length: options.lanes }, lane));
  return result;
}

const count = (observations: Observation[], kind: Observation) =>
  observations.filter((seen) => seen === kind).length;

describe('atomic config writes under SIGKILL', () => {
  it('leaves one of the complete configs after every kill, and stale temp files are removed', async () => {
    const started = performance.now();
    const { observations, killsMidWrite } = await killLoop({
      mode: 'atomic',
      lanes: 3,
      iterations: 20,
      maxDelayMs: 40,
    });
    console.log(
      `atomic: ${observations.length} kills in ${Math.round(performance.now() - started)} ms: ` +
        `${count(observations, 'a')} × a, ${count(observations, 'b')} × b, ${killsMidWrite} left a temp file`,
    );
    expect(observations).toHaveLength(60);
    expect(count(observations, 'torn')).toBe(0);
    // Not hollow: the writer really alternated, and kills really landed in the middle of writes.
    expect(count(observations, 'a')).toBeGreaterThan(0);
    expect(count(observations, 'b')).toBeGreaterThan(0);
    expect(killsMidWrite).toBeGreaterThan(0);
  }, 90_000); // ~10 s on an idle machine; the budget only covers a loaded one.

  it('control: the same loop catches a writer that truncates in place', async () => {
    const { observations, tornSamples } = await killLoop({
      mode: 'in-place',
      lanes: 1,
      iterations: 40,
      maxDelayMs: 40,
      stopWhenTorn: true,
    });
    console.log(`in-place: torn after ${observations.length} kills (${tornSamples.join(', ')})`);
    expect(count(observations, 'torn')).toBeGreaterThan(0);
  });
});
