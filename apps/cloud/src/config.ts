import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ed25519PrivateKey, KNOWN_DEFAULT_VALUES, keyList, readMasterKeysFile } from './config-keys.js';
import { cloudStateDir } from './dev-state.js';
import type { MailTransportConfig } from './mail/transport.js';

/**
 * The cloud's whole configuration: one zod schema over the environment,
 * parsed once at start-up, deep-frozen. Every refusal names the variable
 * and what is wrong with it, and never echoes a secret value.
 */

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const DAY = 86_400;

function seconds(min: number, max: number, fallback: number) {
  return z.coerce.number().int().min(min).max(max).default(fallback);
}

const Origin = z.string().transform((raw, ctx) => {
  if (raw === '*') {
    ctx.addIssue({ code: 'custom', message: '"*" is not allowed; list each allowed origin' });
    return z.NEVER;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${raw}" is not an origin like https://app.example.com` });
    return z.NEVER;
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.origin !== raw.replace(/\/$/, '')) {
    ctx.addIssue({
      code: 'custom',
      message: `"${raw}" is not a bare origin (scheme://host[:port], no path)`,
    });
    return z.NEVER;
  }
  return url.origin;
});

function commaList<T extends z.ZodType<unknown, string>>(item: T) {
  return z
    .string()
    .default('')
    .transform((raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));
}

/** `MultiClaw <no-reply@example.com>` or a bare address. */
const MAIL_FROM_SHAPE =
  /^(?:[^<>\p{C}]{1,100} <[^\s<>@\p{C}]+@[^\s<>@\p{C}]+\.[^\s<>@\p{C}]+>|[^\s<>@\p{C}]+@[^\s<>@\p{C}]+\.[^\s<>@\p{C}]+)$/u;
const DEV_MAIL_FROM = 'MultiClaw <no-reply@multiclaw.localhost>';

/** Never echoes the value: an SMTP URL usually carries a password. */
const SmtpUrl = z.string().refine((raw) => {
  const url = parseUrl(raw);
  return url !== undefined && ['smtp:', 'smtps:'].includes(url.protocol) && url.hostname !== '';
}, 'must be an smtp:// or smtps:// URL, e.g. smtps://user:password@mail.example.com:465');

/** Never echoes the value: a NATS URL may carry a user and password. */
const NatsUrl = z.string().refine((raw) => {
  const url = parseUrl(raw);
  return url !== undefined && ['nats:', 'tls:'].includes(url.protocol) && url.hostname !== '';
}, 'must be a nats:// or tls:// URL, e.g. nats://127.0.0.1:4222');

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z
      .string({ error: 'is required (a postgres:// URL)' })
      .refine((v) => /^postgres(ql)?:\/\/.+/.test(v), 'must be a postgres:// or postgresql:// URL')
      .refine((v) => !v.includes('REPLACE_ME'), 'still holds the placeholder from .env.example'),
    MULTICLAW_MASTER_KEYS: keyList(/^[1-9]\d{0,5}$/, 'version number'),
    MULTICLAW_TOKEN_SIGNING_KEYS: keyList(/^[A-Za-z0-9_-]{1,64}$/, 'key id'),
    CORS_ORIGINS: commaList(Origin),
    SECURITY_CONTACT: z
      .string()
      .refine((v) => /^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/.test(v), 'must be a mailto: or https: URI')
      .optional(),
    TLS_CERT_FILE: z.string().min(1).optional(),
    TLS_KEY_FILE: z.string().min(1).optional(),
    TRUST_PROXY: commaList(z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'must be an IP address or CIDR')),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
    HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(10_000),
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    AUTH_ACCESS_TOKEN_TTL_SECONDS: seconds(60, 600, 600),
    AUTH_SESSION_IDLE_TTL_SECONDS: seconds(300, 90 * DAY, 7 * DAY),
    AUTH_SESSION_ABSOLUTE_TTL_SECONDS: seconds(3600, 365 * DAY, 30 * DAY),
    AUTH_REFRESH_REUSE_GRACE_SECONDS: seconds(0, 60, 10),
    AUTH_LOCKOUT_THRESHOLD: z.coerce.number().int().min(3).max(100).default(5),
    AUTH_LOCKOUT_BASE_SECONDS: seconds(1, 3600, 60),
    AUTH_LOCKOUT_MAX_SECONDS: seconds(1, 86_400, 900),
    AUTH_FAILURE_WINDOW_SECONDS: seconds(60, 86_400, 900),
    AUTH_RATE_LIMIT_MAX: z.coerce.number().int().min(1).max(100_000).default(30),
    AUTH_RATE_LIMIT_WINDOW_SECONDS: seconds(1, 3600, 60),
    AUTH_ARGON2_MEMORY_KIB: z.coerce.number().int().min(19_456).max(4_194_304).default(19_456),
    AUTH_ARGON2_TIME_COST: z.coerce.number().int().min(2).max(100).default(2),
    AUTH_ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(16).default(1),
    AUTH_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    VAULT_KEEP_VERSIONS: z.coerce.number().int().min(0).max(100).default(1),
    // Parsed and validated by the OIDC module (modules/identity/oidc/config.ts) at start-up.
    OIDC_PROVIDERS: z.string().optional(),
    SMTP_URL: SmtpUrl.optional(),
    MAIL_FROM: z
      .string()
      .refine((v) => MAIL_FROM_SHAPE.test(v), 'must be an address, or a name and <address>')
      .optional(),
    EVENT_BUS: z.enum(['postgres', 'nats', 'memory']).default('postgres'),
    NATS_URL: NatsUrl.default('nats://127.0.0.1:4222'),
    NATS_SUBJECT: z
      .string()
      .regex(
        /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
        'must be a plain NATS subject like multiclaw.events (no wildcards)',
      )
      .default('multiclaw.events'),
  })
  // Cross-variable rules run even when other variables failed, so one start
  // reports every problem; hence the defensive reads of possibly-invalid fields.
  .superRefine(
    (env, ctx) => {
      if (Boolean(env.TLS_CERT_FILE) !== Boolean(env.TLS_KEY_FILE)) {
        ctx.addIssue({
          code: 'custom',
          path: ['TLS_CERT_FILE'],
          message: 'TLS_CERT_FILE and TLS_KEY_FILE must be set together',
        });
      }
      if (env.NODE_ENV === 'production') {
        const publicUrl = typeof env.PUBLIC_URL === 'string' ? parseUrl(env.PUBLIC_URL) : undefined;
        if (!env.PUBLIC_URL)
          ctx.addIssue({ code: 'custom', path: ['PUBLIC_URL'], message: 'is required in production' });
        else if (publicUrl && publicUrl.protocol !== 'https:' && !isLoopbackHost(publicUrl.hostname)) {
          ctx.addIssue({ code: 'custom', path: ['PUBLIC_URL'], message: 'must be https:// in production' });
        }
        if (!env.SECURITY_CONTACT) {
          ctx.addIssue({
            code: 'custom',
            path: ['SECURITY_CONTACT'],
            message: 'is required in production (RFC 9116)',
          });
        }
        // Every password account needs mail: email verification and password
        // reset send single-use codes, and invitations are mailed.
        if (!env.SMTP_URL) {
          ctx.addIssue({
            code: 'custom',
            path: ['SMTP_URL'],
            message:
              'is required in production: email verification, password reset and invitations send mail (smtp:// or smtps:// URL)',
          });
        }
        if (!env.MAIL_FROM) {
          ctx.addIssue({
            code: 'custom',
            path: ['MAIL_FROM'],
            message:
              'is required in production: the sender address of verification, reset and invitation mail',
          });
        }
        const password = typeof env.DATABASE_URL === 'string' ? safeUrlPassword(env.DATABASE_URL) : undefined;
        if (password !== undefined && KNOWN_DEFAULT_VALUES.has(password.toLowerCase())) {
          ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'uses a known default password' });
        }
      }
      // Pairs of durations whose order matters. The failure window must be at
      // least the longest lock, so waiting it out is never cheaper than the lock.
      const atMost: Array<[keyof typeof env, keyof typeof env]> = [
        ['AUTH_SESSION_IDLE_TTL_SECONDS', 'AUTH_SESSION_ABSOLUTE_TTL_SECONDS'],
        ['AUTH_LOCKOUT_BASE_SECONDS', 'AUTH_LOCKOUT_MAX_SECONDS'],
        ['AUTH_LOCKOUT_MAX_SECONDS', 'AUTH_FAILURE_WINDOW_SECONDS'],
      ];
      for (const [smaller, larger] of atMost) {
        const [a, b] = [env[smaller], env[larger]];
        if (typeof a === 'number' && typeof b === 'number' && a > b) {
          ctx.addIssue({ code: 'custom', path: [smaller], message: `must not exceed ${larger}` });
        }
      }
      const master = Array.isArray(env.MULTICLAW_MASTER_KEYS)
        ? env.MULTICLAW_MASTER_KEYS.map((k) => k.bytes)
        : [];
      const signing = Array.isArray(env.MULTICLAW_TOKEN_SIGNING_KEYS) ? env.MULTICLAW_TOKEN_SIGNING_KEYS : [];
      for (const key of signing) {
        if (master.some((m) => m.equals(key.bytes))) {
          ctx.addIssue({
            code: 'custom',
            path: ['MULTICLAW_TOKEN_SIGNING_KEYS'],
            message: `key ${key.id} reuses a master key; each purpose needs its own key`,
          });
        }
      }
    },
    { when: () => true },
  );

/** Every variable the schema reads; `.env.example` must document each one. */
export const CONFIG_VARIABLES = [...Object.keys(EnvSchema.shape), 'MULTICLAW_MASTER_KEYS_FILE'];

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function safeUrlPassword(url: string): string | undefined {
  const password = parseUrl(url)?.password;
  return password ? decodeURIComponent(password) : undefined;
}

export type Config = Readonly<{
  env: 'development' | 'test' | 'production';
  host: string;
  port: number;
  publicUrl: string;
  databaseUrl: string;
  /** Master keys by version; the highest version wraps new data keys. */
  masterKeys: ReadonlyArray<Readonly<{ version: number; key: KeyObject }>>;
  /** The first key signs; every key verifies. */
  signingKeys: ReadonlyArray<Readonly<{ kid: string; privateKey: KeyObject; publicKey: KeyObject }>>;
  corsOrigins: readonly string[];
  securityContact: string;
  tls: Readonly<{ cert: Buffer; key: Buffer }> | undefined;
  trustProxy: readonly string[];
  logLevel: string;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  /** Longest wait for a request's headers, and for the whole request (headers and body). */
  timeouts: { headersMs: number; requestMs: number };
  /** Superseded values kept per secret; older ones are deleted. */
  vaultKeepVersions: number;
  mail: Readonly<{ transport: MailTransportConfig; from: string }>;
  /**
   * How instances tell each other what changed (real-time events, ended
   * sessions): PostgreSQL LISTEN/NOTIFY on DATABASE_URL, NATS at natsUrl, or
   * in memory (a single instance only).
   */
  eventBus: Readonly<{ kind: 'postgres' | 'nats' | 'memory'; natsUrl: string; natsSubject: string }>;
  auth: Readonly<{
    /** Raw OIDC_PROVIDERS JSON; the OIDC module validates it at start-up. */
    oidcProviders: string | undefined;
    accessTokenTtlSeconds: number;
    sessionIdleTtlSeconds: number;
    sessionAbsoluteTtlSeconds: number;
    refreshReuseGraceSeconds: number;
    lockout: Readonly<{
      threshold: number;
      baseLockSeconds: number;
      maxLockSeconds: number;
      failureWindowSeconds: number;
    }>;
    rateLimit: Readonly<{ max: number; windowSeconds: number }>;
    argon2: Readonly<{ memoryKiB: number; timeCost: number; parallelism: number; concurrency: number }>;
  }>;
}>;

function readTlsFile(variable: string, path: string, problems: string[]): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    problems.push(`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

/** Objects are frozen all the way down; Buffers and KeyObjects are left as they are. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof KeyObject)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * SMTP when configured. Outside production, smtp:// may send in the clear
 * (a local test server); in production STARTTLS is required unless the
 * server is on this machine, so codes never cross a network unencrypted.
 * No SMTP (development and tests only: production refuses): the outbox.
 */
function mailTransport(
  smtpUrl: string | undefined,
  nodeEnv: Config['env'],
  source: NodeJS.ProcessEnv,
): MailTransportConfig {
  if (!smtpUrl) return { kind: 'outbox', directory: join(cloudStateDir(source), 'outbox') };
  const url = new URL(smtpUrl);
  const requireTls = nodeEnv === 'production' && url.protocol === 'smtp:' && !isLoopbackHost(url.hostname);
  return { kind: 'smtp', url: smtpUrl, requireTls };
}

/** Parses the environment into a frozen Config, or throws ConfigError listing every problem. */
export function loadConfig(rawSource: NodeJS.ProcessEnv): Config {
  // An empty value (`TLS_CERT_FILE=` in an env file) means "not set".
  const source = Object.fromEntries(Object.entries(rawSource).filter(([, value]) => value !== ''));
  const keysFile = source.MULTICLAW_MASTER_KEYS_FILE;
  if (keysFile) {
    if (source.MULTICLAW_MASTER_KEYS) {
      throw new ConfigError(['MULTICLAW_MASTER_KEYS_FILE: set either it or MULTICLAW_MASTER_KEYS, not both']);
    }
    const { value, problem } = readMasterKeysFile(keysFile);
    if (problem) throw new ConfigError([problem]);
    source.MULTICLAW_MASTER_KEYS = value;
  }
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const named = String(issue.path[0] ?? 'environment');
        // Problems with keys read from the file are reported against the file.
        const variable = keysFile && named === 'MULTICLAW_MASTER_KEYS' ? 'MULTICLAW_MASTER_KEYS_FILE' : named;
        const message =
          issue.code === 'invalid_type' && source[variable] === undefined ? 'is required' : issue.message;
        return `${variable}: ${message}`;
      }),
    );
  }
  const env = parsed.data;
  const problems: string[] = [];
  let tls: Config['tls'];
  if (env.TLS_CERT_FILE && env.TLS_KEY_FILE) {
    const cert = readTlsFile('TLS_CERT_FILE', env.TLS_CERT_FILE, problems);
    const key = readTlsFile('TLS_KEY_FILE', env.TLS_KEY_FILE, problems);
    if (cert && key) tls = { cert, key };
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const scheme = tls ? 'https' : 'http';
  const displayHost = env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST;
  return deepFreeze({
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    publicUrl: (env.PUBLIC_URL ?? `${scheme}://${displayHost}:${env.PORT}`).replace(/\/$/, ''),
    databaseUrl: env.DATABASE_URL,
    masterKeys: env.MULTICLAW_MASTER_KEYS.map(({ id, bytes }) => ({
      version: Number(id),
      key: createSecretKey(bytes),
    })).sort((a, b) => b.version - a.version),
    signingKeys: env.MULTICLAW_TOKEN_SIGNING_KEYS.map(({ id, bytes }) => {
      const privateKey = ed25519PrivateKey(bytes);
      return { kid: id, privateKey, publicKey: createPublicKey(privateKey) };
    }),
    corsOrigins: env.CORS_ORIGINS,
    securityContact: env.SECURITY_CONTACT ?? 'mailto:security@localhost',
    tls,
    trustProxy: env.TRUST_PROXY,
    logLevel: env.LOG_LEVEL,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    timeouts: {
      headersMs: Math.min(env.HEADERS_TIMEOUT_MS, env.REQUEST_TIMEOUT_MS),
      requestMs: env.REQUEST_TIMEOUT_MS,
    },
    vaultKeepVersions: env.VAULT_KEEP_VERSIONS,
    mail: {
      transport: mailTransport(env.SMTP_URL, env.NODE_ENV, source),
      from: env.MAIL_FROM ?? DEV_MAIL_FROM,
    },
    eventBus: { kind: env.EVENT_BUS, natsUrl: env.NATS_URL, natsSubject: env.NATS_SUBJECT },
    auth: {
      oidcProviders: env.OIDC_PROVIDERS,
      accessTokenTtlSeconds: env.AUTH_ACCESS_TOKEN_TTL_SECONDS,
      sessionIdleTtlSeconds: env.AUTH_SESSION_IDLE_TTL_SECONDS,
      sessionAbsoluteTtlSeconds: env.AUTH_SESSION_ABSOLUTE_TTL_SECONDS,
      refreshReuseGraceSeconds: env.AUTH_REFRESH_REUSE_GRACE_SECONDS,
      lockout: {
        threshold: env.AUTH_LOCKOUT_THRESHOLD,
        baseLockSeconds: env.AUTH_LOCKOUT_BASE_SECONDS,
        maxLockSeconds: env.AUTH_LOCKOUT_MAX_SECONDS,
        failureWindowSeconds: env.AUTH_FAILURE_WINDOW_SECONDS,
      },
      rateLimit: { max: env.AUTH_RATE_LIMIT_MAX, windowSeconds: env.AUTH_RATE_LIMIT_WINDOW_SECONDS },
      argon2: {
        memoryKiB: env.AUTH_ARGON2_MEMORY_KIB,
        timeCost: env.AUTH_ARGON2_TIME_COST,
        parallelism: env.AUTH_ARGON2_PARALLELISM,
        concurrency: env.AUTH_HASH_CONCURRENCY,
      },
    },
  });
}
