/**
 * `pnpm bench`: runs every benchmark in turn (each its own process, its JSON on stdout
 * passed through), writes their results and each goal's ratio to results/latest.json and
 * draws results/chart.svg (lib/chart.ts). `BENCH_ONLY=gateway,sync` runs those alone and
 * keeps the other benchmarks' results of the previous run (each says when it ran).
 * Exits 1 when a benchmark failed; a ratio that misses its goal is a result, not a failure.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.js';
import { GOALS, meets } from './goals.js';

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const RESULTS_DIR = join(BENCH_DIR, 'results');
const RESULTS_FILE = join(RESULTS_DIR, 'latest.json');
const CHART_FILE = join(RESULTS_DIR, 'chart.svg');
const BENCHMARKS = ['login', 'authorized-read', 'vault', 'gateway', 'sync', 'realtime'];

interface BenchmarkRun {
  ranAt: string;
  seconds: number;
  loadAverage: { before: number[]; after: number[] };
  result?: unknown;
  error?: string;
}
interface Results {
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  finishedAt: string;
  benchmarks: Record<string, BenchmarkRun>;
  goals: {
    id: string;
    label: string;
    benchmark: string;
    goal: string;
    ratio: number | null;
    met: boolean | null;
  }[];
}

const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
for (const name of only ?? [])
  if (!BENCHMARKS.includes(name))
    throw new Error(`BENCH_ONLY: no benchmark "${name}" (${BENCHMARKS.join(', ')})`);

/** The last JSON object a benchmark printed (they print one; anything before it is ignored). */
export function lastJsonObject(stdout: string): unknown {
  const text = stdout.trim();
  for (let start = text.lastIndexOf('{'); start >= 0; start = text.lastIndexOf('{', start - 1)) {
    if (start > 0 && text[start - 1] !== '\n') continue;
    try {
      return JSON.parse(text.slice(start));
    } catch {}
  }
  throw new Error('printed no JSON object');
}

const round2 = (value: number) => Math.round(value * 100) / 100;

async function runBenchmark(name: string): Promise<BenchmarkRun> {
  const before = loadavg().map(round2);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(name, 'main.ts')], {
    cwd: BENCH_DIR,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
    process.stdout.write(data);
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const run: BenchmarkRun = {
    ranAt: new Date().toISOString(),
    seconds: Math.round((performance.now() - started) / 1000),
    loadAverage: { before, after: loadavg().map(round2) },
  };
  if (code !== 0) return { ...run, error: `exited ${code}` };
  try {
    return { ...run, result: lastJsonObject(stdout) };
  } catch (error) {
    return { ...run, error: (error as Error).message };
  }
}

const previous: Results | undefined =
  only && existsSync(RESULTS_FILE) ? JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) : undefined;
const benchmarks: Record<string, BenchmarkRun> = {};
for (const name of BENCHMARKS) {
  if (only && !only.includes(name)) {
    const kept = previous?.benchmarks[name];
    if (kept) benchmarks[name] = kept;
    continue;
  }
  process.stderr.write(`\n== bench/${name}\n`);
  benchmarks[name] = await runBenchmark(name);
}

const rows = GOALS.map((goal) => ({ goal, ratio: goal.read(benchmarks[goal.benchmark]?.result) }));
const results: Results = {
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: process.platform,
  },
  finishedAt: new Date().toISOString(),
  benchmarks,
  goals: rows.map(({ goal, ratio }) => ({
    id: goal.id,
    label: goal.label,
    benchmark: goal.benchmark,
    goal: `${goal.direction === 'atLeast' ? '>=' : '<='} ${goal.goal}`,
    ratio: ratio ?? null,
    met: ratio === undefined ? null : meets(goal, ratio),
  })),
};
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
const loads = Object.values(benchmarks).flatMap((run) => [
  ...run.loadAverage.before,
  ...run.loadAverage.after,
]);
const subtitle = `${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}; ${results.finishedAt.slice(0, 10)}; 1-min load average ${round2(Math.min(...loads))}–${round2(Math.max(...loads))} during the runs`;
writeFileSync(CHART_FILE, renderChart(rows, subtitle));

process.stderr.write('\n');
for (const row of results.goals)
  process.stderr.write(
    `${row.met === null ? '  -' : row.met ? ' ok' : 'MISS'}  ${row.label}: ${row.ratio ?? 'not measured'} (goal ${row.goal})\n`,
  );
process.stderr.write(`\nwrote ${RESULTS_FILE} and ${CHART_FILE}\n`);
const failed = Object.entries(benchmarks).filter(([, run]) => run.error);
for (const [name, run] of failed) process.stderr.write(`bench/${name} failed: ${run.error}\n`);
process.exitCode = failed.length > 0 ? 1 : 0;
