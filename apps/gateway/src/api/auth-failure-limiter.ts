import { isIP } from 'node:net';
import { ApiError } from '@multiclaw/protocol';
import { tokensMatch } from './guard.js';

/**
 * The one authentication decision for HTTP requests and WebSocket `connect`
 * frames. It throttles token *guessing* and nothing else:
 * - the right token is never refused: 256 bits cannot be guessed, so refusing
 *   its holder would only let anyone who can reach the port lock the user out;
 * - no credential at all is refused without counting: a web page can make
 *   credential-less requests (`<img>`, a no-cors fetch) but cannot attach a
 *   bearer token without a preflight the Origin check refuses, so counting
 *   them would hand every web page the lockout again;
 * - a wrong token counts against its sender's budget; once the budget is spent,
 *   wrong tokens get 429 until the window (from the first failure) ends.
 * Budgets are kept per source network (see `budgetKey`), not per address.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { count: number; windowStart: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** `undefined` when `presented` is the right token; otherwise the refusal to send. */
  authenticate(
    remoteAddress: string | undefined,
    presented: string | undefined,
    expected: string,
    missing: string,
  ): ApiError | undefined {
    if (presented === undefined) return new ApiError('UNAUTHENTICATED', missing);
    if (tokensMatch(presented, expected)) return undefined;
    const key = budgetKey(remoteAddress);
    const spent = this.refusal(key);
    if (spent) return spent;
    this.recordFailure(key);
    return new ApiError(
      'UNAUTHENTICATED',
      'The gateway token is wrong: use gateway.auth.token from openclaw.json (it changes on "token rotate")',
    );
  }

  /** RATE_LIMITED when the budget behind `key` is spent, with the seconds until its window ends. */
  refusal(key: string): ApiError | undefined {
    const entry = this.current(key);
    if (!entry || entry.count < this.maxFailures) return undefined;
    const retryAfterSeconds = Math.ceil((entry.windowStart + this.windowMs - this.now()) / 1000);
    return new ApiError('RATE_LIMITED', 'Too many wrong gateway tokens from this client; try again later', {
      retryAfterSeconds,
    });
  }

  recordFailure(key: string): void {
    const entry = this.current(key);
    if (entry) entry.count += 1;
    else this.failures.set(key, { count: 1, windowStart: this.now() });
    if (this.failures.size > 10_000) this.prune();
  }

  private current(key: string) {
    const entry = this.failures.get(key);
    if (entry && this.now() - entry.windowStart >= this.windowMs) {
      this.failures.delete(key);
      return undefined;
    }
    return entry;
  }

  private prune(): void {
    for (const key of [...this.failures.keys()]) this.current(key);
  }
}

/**
 * Whose budget a failure spends. Every loopback address (127.0.0.0/8, ::1,
 * and IPv4-mapped 127.x) is one key: a local process can bind any 127.x.y.z
 * as its source, so per-address budgets would multiply by 16 million. That
 * costs nothing to the real client, whom the limiter never refuses. Peers of
 * an explicitly allowed non-loopback bind: per IPv4 address, per IPv6 /64
 * (what one host usually holds).
 */
export function budgetKey(remoteAddress: string | undefined): string {
  let address = remoteAddress ?? 'unknown';
  if (address.toLowerCase().startsWith('::ffff:') && address.includes('.')) address = address.slice(7);
  if (address === '::1' || (isIP(address) === 4 && address.startsWith('127.'))) return 'loopback';
  if (isIP(address) === 6) return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
  return address;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail = ''] = address.split('%')[0]?.split('::') ?? [];
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...(address.includes('::') ? zeros : []), ...right].map((group) =>
    (Number.parseInt(group, 16) || 0).toString(16),
  );
}
