import { ApiError } from '@multiclaw/protocol';

/**
 * Counts failed authentications per client in a fixed window. Loopback
 * clients are counted too: every local process and browser page shares them.
 * Once a client reaches the limit it is refused, right token or not, until
 * its window ends.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { count: number; windowStart: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws RATE_LIMITED when the client has used up its failures. */
  assertAllowed(client: string): void {
    const entry = this.current(client);
    if (entry && entry.count >= this.maxFailures) {
      const retryAfterSeconds = Math.ceil((entry.windowStart + this.windowMs - this.now()) / 1000);
      throw new ApiError('RATE_LIMITED', 'Too many failed authentication attempts; try again later', {
        retryAfterSeconds,
      });
    }
  }

  recordFailure(client: string): void {
    const entry = this.current(client);
    if (entry) entry.count += 1;
    else this.failures.set(client, { count: 1, windowStart: this.now() });
    if (this.failures.size > 10_000) this.prune();
  }

  private current(client: string) {
    const entry = this.failures.get(client);
    if (entry && this.now() - entry.windowStart >= this.windowMs) {
      this.failures.delete(client);
      return undefined;
    }
    return entry;
  }

  private prune(): void {
    for (const client of [...this.failures.keys()]) this.current(client);
  }
}
