import fastifyRateLimit, { type FastifyRateLimitStore, type RateLimitOptions } from '@fastify/rate-limit';
import { ApiError } from '@multiclaw/protocol';
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { clientIp, clientKey } from './client-ip.js';

/**
 * Per-client request budgets, through `@fastify/rate-limit`, for the routes
 * that opt in (nothing is limited by default, `global: false`):
 *
 *   app.post('/v1/auth/login', { config: rateLimited('auth') }, …)          // a named budget
 *   app.post('/v1/auth/refresh', { config: rateLimited() }, …)              // the default budget
 *   app.post('/v1/x', { config: { rateLimit: { max: 5, timeWindow: 60_000 } } }, …)  // inline
 *
 * Routes naming the same budget share one counter per client; any other
 * opted-in route counts on its own. A client is `clientKey(clientIp(request))`:
 * its normalised address (forwarded headers count only from trusted proxies,
 * IPv4-mapped IPv6 is the IPv4 address), with IPv6 grouped by /64. Loopback
 * and private addresses get no exemption.
 *
 * Over budget: 429 with `Retry-After` (whole seconds left in the window) and
 * our error envelope, code `RATE_LIMITED`.
 *
 * Counters live in this process's memory (a fixed window per client and
 * budget, at most `maxClients` counters, least recently used evicted first):
 * with several instances behind a load balancer each instance counts on its
 * own. The per-account sign-in lockout is in Postgres and is shared.
 */

export type RateLimitBudget = { max: number; timeWindowMs: number };

export type RateLimitPluginOptions = {
  /** The default budget: requests per window for a route that opts in without naming a budget. */
  max: number;
  timeWindowMs: number;
  /** Named budgets; names are lower-case words with hyphens (`auth`, `password-reset`). */
  budgets?: Readonly<Record<string, RateLimitBudget>>;
  /** IPv6 clients are counted per prefix of this length. Default 64. */
  ipv6PrefixLength?: number;
  /** Counters kept in memory at most. Default 100,000. */
  maxClients?: number;
  /** Injectable clock. */
  now?: () => Date;
};

type RouteRateLimit = NonNullable<FastifyContextConfig['rateLimit']>;

const BUDGET_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/** Route `config` that opts a route into a named budget, or the default one. */
export function rateLimited(budget?: string): { rateLimit: RouteRateLimit } {
  if (budget !== undefined && !BUDGET_NAME.test(budget)) {
    throw new Error(`rate limit: "${budget}" is not a budget name (lower-case letters, digits, hyphens)`);
  }
  return { rateLimit: budget === undefined ? {} : { groupId: budget } };
}

/** The envelope error for an exhausted budget; `statusCode` keeps it a 429 for any error handler. */
export function rateLimitedError(retryAfterSeconds: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  const error = new ApiError(
    'RATE_LIMITED',
    `Too many requests; try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
  );
  return Object.assign(error, { statusCode: 429 });
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`rate limit: ${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
}

function requireBudget(name: string, budget: RateLimitBudget): void {
  requireInteger(`${name}.max`, budget.max, 1);
  requireInteger(`${name}.timeWindowMs`, budget.timeWindowMs, 1);
}

function groupIdOf(request: FastifyRequest): string | undefined {
  const config = request.routeOptions.config.rateLimit;
  return config ? config.groupId : undefined;
}

/** Fixed-window counters in a bounded map, on the injected clock. */
function createMemoryStore(maxClients: number, now: () => number) {
  const windows = new Map<string, { count: number; startedAt: number }>();
  const store: FastifyRateLimitStore & {
    read(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void;
  } = {
    incr(key, callback, timeWindow) {
      const at = now();
      let entry = windows.get(key);
      if (!entry || entry.startedAt + timeWindow <= at) entry = { count: 0, startedAt: at };
      entry.count += 1;
      // Re-inserting keeps the map in least-recently-used order.
      windows.delete(key);
      windows.set(key, entry);
      if (windows.size > maxClients) {
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
      callback(null, { current: entry.count, ttl: entry.startedAt + timeWindow - at });
    },
    read(key, callback, timeWindow) {
      const at = now();
      const entry = windows.get(key);
      if (!entry || entry.startedAt + timeWindow <= at) callback(null, { current: 0, ttl: 0 });
      else callback(null, { current: entry.count, ttl: entry.startedAt + timeWindow - at });
    },
    // One store for every route: keys already say which route or budget they count.
    child: () => store,
  };
  return store;
}

export const rateLimitPlugin = fp<RateLimitPluginOptions>(
  async (app: FastifyInstance, options) => {
    const { budgets = {}, ipv6PrefixLength = 64, maxClients = 100_000, now = () => new Date() } = options;
    const defaultBudget = { max: options.max, timeWindowMs: options.timeWindowMs };
    requireBudget('default budget', defaultBudget);
    for (const [name, budget] of Object.entries(budgets)) {
      if (!BUDGET_NAME.test(name)) throw new Error(`rate limit: "${name}" is not a budget name`);
      requireBudget(`budget ${name}`, budget);
    }
    requireInteger('ipv6PrefixLength', ipv6PrefixLength, 0, 128);
    requireInteger('maxClients', maxClients, 1);

    const budgetOf = (request: FastifyRequest): RateLimitBudget => {
      const groupId = groupIdOf(request);
      return (groupId === undefined ? undefined : budgets[groupId]) ?? defaultBudget;
    };
    const store = createMemoryStore(maxClients, () => now().getTime());

    // Refuse, at start-up, a route that names a budget nobody configured.
    app.addHook('onRoute', (route) => {
      const config = (route.config as FastifyContextConfig | undefined)?.rateLimit;
      const groupId = config ? config.groupId : undefined;
      if (groupId !== undefined && !Object.hasOwn(budgets, groupId)) {
        throw new Error(
          `rate limit: route ${route.method} ${route.url} names an unknown budget "${groupId}"`,
        );
      }
    });

    const settings: RateLimitOptions & { global: boolean } = {
      global: false,
      hook: 'onRequest',
      // Named budgets and the default one are looked up per request; a route's
      // own inline numbers replace these.
      max: (request) => budgetOf(request).max,
      timeWindow: (request) => budgetOf(request).timeWindowMs,
      // @fastify/rate-limit appends the budget name to this key; routes without
      // one count under their own method and URL.
      keyGenerator: (request) => {
        const client = clientKey(clientIp(request), ipv6PrefixLength);
        return groupIdOf(request) === undefined
          ? `${client}|route:${String(request.routeOptions.method)} ${request.routeOptions.url}`
          : `${client}|`;
      },
      errorResponseBuilder: (_request, context) => rateLimitedError(context.ttl / 1000),
      store: function Store() {
        return store;
      } as unknown as NonNullable<RateLimitOptions['store']>,
    };
    await app.register(fastifyRateLimit, settings);
  },
  { name: 'rate-limit', fastify: '5.x' },
);
