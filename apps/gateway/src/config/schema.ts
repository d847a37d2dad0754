import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { LocalAgent, LocalAgentId } from '@multiclaw/protocol';
import { z } from 'zod';
import { PROVIDER_APIS } from '../providers/types.js';
import { UpdateConfig } from '../update/update-config.js';

/**
 * `openclaw.json`. Key paths follow OpenClaw where it has them
 * (`gateway.port`, `gateway.bind`, `gateway.auth.token`, `agents.list`,
 * `models.providers`). Every object is strict: an unknown key is an error
 * that names its path, so a typo never silently turns a setting off.
 */
export const DEFAULT_GATEWAY_PORT = 18789;

/** 256 bits, base64url: what `token rotate` and first start generate. */
export function generateGatewayToken(): string {
  return randomBytes(32).toString('base64url');
}

const Origin = z.string().refine((value) => {
  // Checked first: WHATWG URL parses chrome-extension://… without throwing, with origin "null".
  if (/^chrome-extension:\/\/[a-p]{32}$/.test(value)) return true;
  try {
    const url = new URL(value);
    return url.origin === value && url.origin !== 'null';
  } catch {
    return false;
  }
}, 'an origin such as "http://127.0.0.1:1420" or "chrome-extension://<32-letter id>", without a path or trailing slash');

const BindAddress = z
  .string()
  .refine((value) => value === 'loopback' || isIP(value) !== 0, '"loopback" or an IP address');

export const ProviderConfig = z.strictObject({
  api: z.enum(PROVIDER_APIS),
  baseUrl: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
  /** The provider's API key. Absent for keyless local servers (Ollama, LM Studio…). */
  apiKey: z.string().min(1).max(4096).optional(),
  /** The agents that may use this provider's credential; nobody else gets it. */
  allowedAgents: z.array(LocalAgentId).default([]),
});
export type ProviderConfig = z.infer<typeof ProviderConfig>;

export const GatewayConfig = z
  .strictObject({
    gateway: z.strictObject({
      port: z.number().int().min(1).max(65_535).default(DEFAULT_GATEWAY_PORT),
      /** `loopback` listens on 127.0.0.1 and ::1. Anything else needs `allowNonLoopback`. */
      bind: BindAddress.default('loopback'),
      allowNonLoopback: z.boolean().default(false),
      auth: z.strictObject({
        mode: z.literal('token').default('token'),
        token: z.string().regex(/^[A-Za-z0-9_-]{43,512}$/, 'at least 43 base64url characters (256 bits)'),
      }),
      /** Origins allowed to call the gateway from a browser: the desktop shell's, paired extensions'. */
      allowedOrigins: z.array(Origin).default([]),
      maxPayloadBytes: z
        .number()
        .int()
        .min(16 * 1024)
        .max(16 * 1024 * 1024)
        .default(1024 * 1024),
      /** Connection caps and timeouts for unauthenticated traffic; unset keys keep their defaults (docs/gateway.md). */
      connections: z
        .strictObject({
          maxConnections: z.number().int().min(8).max(100_000),
          maxConnectionsPerClient: z.number().int().min(4).max(100_000),
          headersTimeoutMs: z.number().int().min(500).max(120_000),
          requestTimeoutMs: z.number().int().min(500).max(120_000),
        })
        .partial()
        .optional(),
    }),
    agents: z.strictObject({ list: z.array(LocalAgent).default([]) }).default({ list: [] }),
    models: z
      .strictObject({ providers: z.record(LocalAgentId, ProviderConfig).default({}) })
      .default({ providers: {} }),
    /** Transcript sync (docs/data-residency.md): the local agents whose conversations go to the linked workspace. */
    sync: z.strictObject({ agents: z.array(LocalAgentId).default([]) }).optional(),
    /** Signed updates (docs/releasing.md): the feed is contacted only by `update check|apply`. */
    update: UpdateConfig.optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.agents.list.forEach((agent, index) => {
      if (seen.has(agent.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['agents', 'list', index, 'id'],
          message: `duplicate agent id "${agent.id}"`,
        });
      }
      seen.add(agent.id);
    });
    const bind = config.gateway.bind;
    // A bind that is not an IP address at all was already refused by BindAddress.
    if (
      bind !== 'loopback' &&
      isIP(bind) !== 0 &&
      !isLoopbackAddress(bind) &&
      !config.gateway.allowNonLoopback
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['gateway', 'bind'],
        message: `"${config.gateway.bind}" is not a loopback address; set gateway.allowNonLoopback to true to expose the gateway to the network`,
      });
    }
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;

export function isLoopbackAddress(address: string): boolean {
  return address === '::1' || address === '::ffff:127.0.0.1' || /^127\.\d+\.\d+\.\d+$/.test(address);
}

export function defaultGatewayConfig(): GatewayConfig {
  return GatewayConfig.parse({ gateway: { auth: { token: generateGatewayToken() } } });
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file} is not a valid gateway config:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Parses file text into a config, or throws a ConfigError naming every bad key path. */
export function parseGatewayConfig(file: string, text: string): GatewayConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [`not valid JSON ${jsonErrorPlace(text, error as Error)}`]);
  }
  const result = GatewayConfig.safeParse(json);
  if (!result.success) throw new ConfigError(file, describeIssues(result.error.issues));
  return result.data;
}

/**
 * Where JSON.parse stopped, as a line and column. Deliberately not the parser's
 * own message: some engines quote the text around the error, which here could
 * be part of the gateway token or an API key, and this message is logged.
 */
function jsonErrorPlace(text: string, error: Error): string {
  const position = Number(/position (\d+)/.exec(error.message)?.[1]);
  if (!Number.isInteger(position)) return '(check the file with a JSON validator)';
  const before = text.slice(0, position).split('\n');
  return `(line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
}

export function describeIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${path ? `${path}.` : ''}${key}: unknown key`);
    }
    return [`${path || '(root)'}: ${issue.message}`];
  });
}
