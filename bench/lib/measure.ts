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
