/**
 * Gateway benchmark: cold start to listening and idle RSS of `multiclaw-gateway start`, run
 * from its TypeScript source (tsx) and compiled (dist/), against a bare Node HTTP server
 * started the same way; and reading a 100,000-message conversation through the store
 * (against reading and parsing the same file raw). Prints one JSON object.
 *
 * The gateway is linked to a cloud running in this process (its own PostgreSQL): each
 * measured start has a link to open, and its idle RSS is read once the link is online.
 * The first start of a fresh, unlinked state directory (it writes openclaw.json and a
 * token) is reported beside it.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LocalStore } from '@multiclaw/gateway';
import { envNumber } from '../lib/measure.js';
import { startLinkedCloud } from './linked-cloud.js';

/** The `multiclaw-gateway` binary, found through the package's own manifest. */
const GATEWAY_BIN = (() => {
  const manifestPath = createRequire(import.meta.url).resolve('@multiclaw/gateway/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string> };
  return join(dirname(manifestPath), manifest.bin['multiclaw-gateway'] as string);
})();
const BARE_SERVER = `require('node:http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',()=>console.log('listening on http://127.0.0.1'))`;
const RUNS = envNumber('BENCH_START_RUNS', 5);
const MESSAGES = envNumber('BENCH_MESSAGES', 100_000);
/** Which gateway code to start (the binary's MULTICLAW_GATEWAY_RUN): `pnpm bench` builds dist/ first. */
const VARIANTS = (process.env.BENCH_GATEWAY_RUN ?? 'source,compiled').split(',');
for (const variant of VARIANTS)
  if (variant !== 'source' && variant !== 'compiled')
    throw new Error(`BENCH_GATEWAY_RUN: "${variant}" is neither source nor compiled`);

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** How long a linked gateway may take to report its link online (a loaded machine is slow). */
const LINK_ONLINE_TIMEOUT_MS = 60_000;

/**
 * When idle RSS is read again (compiled and bare only): V8 keeps the young generation it grew
 * while starting until its memory reducer finds the process idle (8 s at the earliest; 10–18 s
 * seen on a loaded machine), then returns it. The bare server's RSS does not move.
 */
const SETTLE_SECONDS = envNumber('BENCH_SETTLE_SECONDS', 25);

/** CPU time (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
const cpuMsOf = async (pid: number | undefined) => {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

const rssMbOf = async (pid: number | undefined) =>
  Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/**
 * Spawns a server, returns ms until it prints "listening on", its RSS after 1 s idle (for a
 * linked gateway, 1 s after it logs its link online) and after SETTLE_SECONDS idle.
 */
async function startAndMeasure(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { linked?: boolean; settle?: boolean } = {},
): Promise<{ ms: number; cpuMs: number; rssMb: number; settledRssMb: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let onOutput = () => {};
  let cpuMs = Number.NaN;
  const ms = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      onOutput();
      if (!output.includes('listening on') || !Number.isNaN(cpuMs)) return;
      const ms = performance.now() - started;
      cpuMs = 0;
      cpuMsOf(child.pid).then((used) => {
        cpuMs = used;
        resolve(ms);
      }, reject);
    });
    child.stderr.on('data', (data: Buffer) => {
      output += data.toString();
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  if (options.linked)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the link did not come online in ${LINK_ONLINE_TIMEOUT_MS} ms: ${output}`)),
        LINK_ONLINE_TIMEOUT_MS,
      );
      onOutput = () => {
        if (!output.includes('cloud link online')) return;
        clearTimeout(timer);
        resolve();
      };
      onOutput();
    });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rssMb = await rssMbOf(child.pid);
  let settledRssMb = Number.NaN;
  if (options.settle) {
    await new Promise((resolve) => setTimeout(resolve, (SETTLE_SECONDS - 1) * 1000));
    settledRssMb = await rssMbOf(child.pid);
  }
  child.removeAllListeners('exit');
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  return { ms, cpuMs, rssMb, settledRssMb };
}

/** Each run starts every variant and the bare server in turn, so machine load falls on all alike. */
async function startup() {
  const cloud = await startLinkedCloud();
  try {
    return await startupWith(cloud);
  } finally {
    await cloud.close();
  }
}

async function startupWith(cloud: Awaited<ReturnType<typeof startLinkedCloud>>) {
  // One linked state directory per variant, linked once with the real `link` command.
  const linkedDirs = new Map<string, string>();
  for (const variant of VARIANTS) {
    const stateDir = await mkdtemp(join(tmpdir(), 'mc-bench-gw-linked-'));
    await cloud.link(GATEWAY_BIN, stateDir);
    linkedDirs.set(variant, stateDir);
    // Its first start writes openclaw.json: not what the measured starts do.
    await startAndMeasure(
      [GATEWAY_BIN, 'start', '--port', '0'],
      { ...process.env, OPENCLAW_STATE_DIR: stateDir, LOG_LEVEL: 'info', MULTICLAW_GATEWAY_RUN: variant },
      { linked: true },
    );
  }
  const runs = new Map(
    VARIANTS.map((variant) => [
      variant,
      { first: [] as number[], again: [] as Awaited<ReturnType<typeof startAndMeasure>>[] },
    ]),
  );
  const bare: Awaited<ReturnType<typeof startAndMeasure>>[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const [variant, results] of runs) {
      const stateDir = await mkdtemp(join(tmpdir(), 'mc-bench-gw-'));
      const env = {
        ...process.env,
        OPENCLAW_STATE_DIR: stateDir,
        LOG_LEVEL: 'info',
        MULTICLAW_GATEWAY_RUN: variant,
      };
      results.first.push((await startAndMeasure([GATEWAY_BIN, 'start', '--port', '0'], env)).ms);
      await rm(stateDir, { recursive: true, force: true });
      const linkedEnv = { ...env, OPENCLAW_STATE_DIR: linkedDirs.get(variant) as string };
      results.again.push(
        await startAndMeasure([GATEWAY_BIN, 'start', '--port', '0'], linkedEnv, {
          linked: true,
          settle: variant === 'compiled',
        }),
      );
    }
    bare.push(await startAndMeasure(['-e', BARE_SERVER], process.env, { settle: true }));
  }
  for (const dir of linkedDirs.values()) await rm(dir, { recursive: true, force: true });
  const bareMs = median(bare.map((r) => r.ms));
  const bareCpuMs = median(bare.map((r) => r.cpuMs));
  const bareRss = median(bare.map((r) => r.rssMb));
  const bareSettled = median(bare.map((r) => r.settledRssMb));
  const coldStart: Record<string, number | boolean> = {
    runs: RUNS,
    linkedToCloud: true,
    bareNodeHttpMs: round(bareMs),
    // CPU time (user + system) until listening: the work a start does, which a shared
    // machine's load stretches less than the wall-clock time.
    bareNodeHttpCpuMs: round(bareCpuMs),
  };
  // `…Mb` 1 s after start (or after the link is online); `…SettledMb` after SETTLE_SECONDS.
  const idleRss: Record<string, number> = {
    settleSeconds: SETTLE_SECONDS,
    bareNodeHttpMb: round(bareRss),
    bareNodeHttpSettledMb: round(bareSettled),
  };
  for (const [variant, results] of runs) {
    const ms = median(results.again.map((r) => r.ms));
    const rss = median(results.again.map((r) => r.rssMb));
    coldStart[`${variant}Ms`] = round(ms);
    coldStart[`${variant}FirstEverStartMs`] = round(median(results.first));
    coldStart[`${variant}Ratio`] = round(ms / bareMs, 2);
    const cpuMs = median(results.again.map((r) => r.cpuMs));
    coldStart[`${variant}CpuMs`] = round(cpuMs);
    coldStart[`${variant}CpuRatio`] = round(cpuMs / bareCpuMs, 2);
    idleRss[`${variant}Mb`] = round(rss);
    idleRss[`${variant}Ratio`] = round(rss / bareRss, 2);
    if (variant !== 'compiled') continue;
    const settled = median(results.again.map((r) => r.settledRssMb));
    idleRss[`${variant}SettledMb`] = round(settled);
    idleRss[`${variant}SettledRatio`] = round(settled / bareSettled, 2);
  }
  return { coldStart, idleRss };
}

async function history() {
  const dir = await mkdtemp(join(tmpdir(), 'mc-bench-store-'));
  try {
    let store = await LocalStore.open(dir, { warn: () => {} });
    const session = await store.createSession('bench', 'bench');
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(3);
    for (let seq = 0; seq < MESSAGES; seq += 1000) {
      await store.appendMessages(
        session.key,
        Array.from({ length: Math.min(1000, MESSAGES - seq) }, (_, index) => ({
          id: randomUUID(),
          role: (seq + index) % 2 ? ('assistant' as const) : ('user' as const),
          content: `${seq + index}: ${text}`,
          createdAt: new Date().toISOString(),
        })),
      );
    }
    await store.close();
    // The one conversation's file (named by the store's internal id, not by the session key).
    const [name, ...others] = await readdir(join(dir, 'messages'));
    if (!name || others.length > 0)
      throw new Error(`expected one messages file, found ${others.length + (name ? 1 : 0)}`);
    const file = join(dir, 'messages', name);

    // Raw: read the file and parse every line's JSON, nothing else.
    const rawStart = performance.now();
    const raw = await readFile(file);
    let rawCount = 0;
    for (const line of raw.toString('utf8').split('\n')) {
      if (line) {
        JSON.parse(line.slice(9));
        rawCount++;
      }
    }
    const rawMs = performance.now() - rawStart;

    // Store: open (scan + verify every checksum), then page through the whole history, 1,000 at a time.
    const storeStart = performance.now();
    store = await LocalStore.open(dir, { warn: () => {} });
    let read = 0;
    let before: number | undefined;
    do {
      const page: { messages: unknown[]; nextBefore?: number } = await store.history(session.key, {
        before,
        limit: 1000,
      });
      read += page.messages.length;
      before = page.nextBefore;
    } while (before !== undefined);
    const storeMs = performance.now() - storeStart;

    // One page of the newest 100 after opening: what the desktop does when it shows a conversation.
    const pageStart = performance.now();
    await store.history(session.key, { limit: 100 });
    const newestPageMs = performance.now() - pageStart;
    await store.close();
    if (read !== rawCount || read !== MESSAGES)
      throw new Error(`read ${read}, raw ${rawCount}, expected ${MESSAGES}`);
    return {
      messages: MESSAGES,
      fileMb: round(raw.length / 1024 / 1024),
      rawReadAndParseMs: round(rawMs),
      storeOpenAndReadAllMs: round(storeMs),
      ratio: round(storeMs / rawMs, 2),
      newestPageOf100Ms: round(newestPageMs, 2),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const result = { benchmark: 'gateway', ...(await startup()), history: await history() };
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
