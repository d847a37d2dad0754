/**
 * Runs `operation` from `concurrency` callers for `seconds` (after a short
 * warm-up) and returns completed operations per second.
 */
export async function opsPerSecond(
  operation: (index: number) => Promise<unknown>,
  options: { seconds: number; concurrency: number; warmupOps?: number },
): Promise<{ opsPerSec: number; ops: number; seconds: number }> {
  let next = 0;
  for (let i = 0; i < (options.warmupOps ?? 10); i++) await operation(next++);
  let ops = 0;
  const start = performance.now();
  const deadline = start + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline) {
        await operation(next++);
        ops++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { opsPerSec: Math.round((ops / elapsed) * 10) / 10, ops, seconds: Math.round(elapsed * 100) / 100 };
}

/** Reads a positive number from the environment, for knobs like BENCH_SECONDS. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

type Throughput = { opsPerSec: number; ops: number; seconds: number };

/**
 * Measures `baseline` and `subject` in alternating slices of `sliceSeconds`
 * (default 1) for `seconds` each, and sums them, so that a change in the
 * machine's load during the run (a shared machine's) weighs on both sides
 * alike instead of on whichever happened to run then. Each slice starts
 * after the previous one's operations finished (no overlap).
 */
export async function compareInterleaved(
  baseline: (index: number) => Promise<unknown>,
  subject: (index: number) => Promise<unknown>,
  options: { seconds: number; concurrency: number; sliceSeconds?: number },
): Promise<{ baseline: Throughput; subject: Throughput; ratio: number }> {
  const slice = Math.min(options.sliceSeconds ?? 1, options.seconds);
  const sides = [baseline, subject].map((operation) => ({ operation, ops: 0, elapsed: 0, next: 0 }));
  for (const side of sides) for (let i = 0; i < 10; i++) await side.operation(side.next++);
  for (let done = 0; done < options.seconds; done += slice) {
    for (const side of sides) {
      const start = performance.now();
      const deadline = start + slice * 1000;
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (performance.now() < deadline) {
            await side.operation(side.next++);
            side.ops++;
          }
        }),
      );
      side.elapsed += (performance.now() - start) / 1000;
    }
  }
  const [base, subj] = sides.map(({ ops, elapsed }) => ({
    opsPerSec: Math.round((ops / elapsed) * 10) / 10,
    ops,
    seconds: Math.round(elapsed * 100) / 100,
  })) as [Throughput, Throughput];
  return {
    baseline: base,
    subject: subj,
    ratio: Math.round((subj.opsPerSec / base.opsPerSec) * 1000) / 1000,
  };
}
