/**
 * Every benchmark ratio with a goal (issue 19's table), in one place: which benchmark's JSON
 * holds it, how to read it, and which way is better. `pnpm bench` (lib/run-all.ts) checks
 * each against its goal and lib/chart.ts draws them.
 */

/** A benchmark's printed JSON, as parsed. */
// biome-ignore lint/suspicious/noExplicitAny: each benchmark prints its own shape; a row reads its fields.
type BenchmarkResult = any;

export interface Goal {
  /** Stable key in results files. */
  id: string;
  /** The benchmark (directory under bench/) that prints it. */
  benchmark: string;
  /** What a person reads in the table and the chart. */
  label: string;
  /** `atLeast`: a throughput ratio (subject / baseline, higher is better); `atMost`: a cost ratio. */
  direction: 'atLeast' | 'atMost';
  goal: number;
  /** The ratio in that benchmark's JSON, or undefined when this run did not print it. */
  read(result: BenchmarkResult): number | undefined;
}

const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** The p99 ratio of bench/realtime's subject on `bus`. */
const realtimeP99 = (bus: string) => (result: BenchmarkResult) =>
  number(
    (result?.latency?.subjects as { name?: string; ratioP99?: number }[] | undefined)?.find((subject) =>
      subject.name?.endsWith(`EVENT_BUS=${bus}`),
    )?.ratioP99,
  );

export const GOALS: readonly Goal[] = [
  {
    id: 'login',
    benchmark: 'login',
    label: 'sign-in (POST /v1/auth/login vs argon2 verify)',
    direction: 'atLeast',
    goal: 0.8,
    read: (result) => number(result?.ratio),
  },
  {
    id: 'authorized-read',
    benchmark: 'authorized-read',
    label: 'authorised read (GET agents vs bare Fastify + pg)',
    direction: 'atLeast',
    goal: 0.7,
    read: (result) => number(result?.ratio),
  },
  {
    id: 'vault-write',
    benchmark: 'vault',
    label: 'vault write (secrets.create vs its baseline)',
    direction: 'atLeast',
    goal: 0.5,
    read: (result) => number(result?.encryptAndStore?.ratio),
  },
  {
    id: 'vault-read',
    benchmark: 'vault',
    label: 'vault read (secrets.reveal vs its baseline)',
    direction: 'atLeast',
    goal: 0.5,
    read: (result) => number(result?.loadAndDecrypt?.ratio),
  },
  {
    id: 'gateway-start',
    benchmark: 'gateway',
    label: 'gateway cold start, linked (vs bare node:http)',
    direction: 'atMost',
    goal: 3,
    read: (result) => number(result?.coldStart?.compiledRatio),
  },
  {
    id: 'gateway-idle-rss',
    benchmark: 'gateway',
    label: 'gateway idle RSS, linked, settled (vs bare node:http)',
    direction: 'atMost',
    goal: 1.6,
    // After BENCH_SETTLE_SECONDS idle, once V8 has returned the young generation start grew.
    read: (result) => number(result?.idleRss?.compiledSettledRatio),
  },
  {
    id: 'sync-ingest',
    benchmark: 'sync',
    label: 'sync ingest (link to PostgreSQL vs raw unnest)',
    direction: 'atLeast',
    goal: 0.5,
    read: (result) => number(result?.ratio),
  },
  {
    id: 'realtime-p99-postgres',
    benchmark: 'realtime',
    label: 'realtime p99, EVENT_BUS=postgres (vs bare ws)',
    direction: 'atMost',
    goal: 2,
    read: realtimeP99('postgres'),
  },
  {
    id: 'realtime-p99-memory',
    benchmark: 'realtime',
    label: 'realtime p99, EVENT_BUS=memory (vs bare ws)',
    direction: 'atMost',
    goal: 2,
    read: realtimeP99('memory'),
  },
  {
    id: 'realtime-idle-rss',
    benchmark: 'realtime',
    label: 'realtime RSS per idle socket (vs bare ws)',
    direction: 'atMost',
    goal: 2,
    read: (result) => number(result?.idleMemory?.ratio),
  },
];

/** Whether `ratio` meets `goal`. */
export const meets = (goal: Goal, ratio: number) =>
  goal.direction === 'atLeast' ? ratio >= goal.goal : ratio <= goal.goal;

/** How far along to the goal: 1 is the goal exactly, above 1 is better than the goal. */
export const attainment = (goal: Goal, ratio: number) =>
  goal.direction === 'atLeast'
    ? ratio / goal.goal
    : ratio === 0
      ? Number.POSITIVE_INFINITY
      : goal.goal / ratio;
