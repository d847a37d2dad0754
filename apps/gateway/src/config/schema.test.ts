import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_GATEWAY_PORT,
  defaultGatewayConfig,
  generateGatewayToken,
  isLoopbackAddress,
  parseGatewayConfig,
} from './schema.js';

const TOKEN = 'a'.repeat(43);
const FILE = '/state/openclaw.json';

function problemsOf(value: unknown): string[] {
  try {
    parseGatewayConfig(FILE, typeof value === 'string' ? value : JSON.stringify(value));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.file).toBe(FILE);
    for (const problem of configError.problems) expect(configError.message).toContain(problem);
    return configError.problems;
  }
  throw new Error('expected a ConfigError');
}

const agent = (id: string) => ({ id, name: `Agent ${id}`, model: 'openai/gpt-4o' });

describe('gateway config schema', () => {
  it('fills in the defaults around a token', () => {
    const config = parseGatewayConfig(FILE, JSON.stringify({ gateway: { auth: { token: TOKEN } } }));
    expect(config).toEqual({
      gateway: {
        port: DEFAULT_GATEWAY_PORT,
        bind: 'loopback',
        allowNonLoopback: false,
        auth: { mode: 'token', token: TOKEN },
        allowedOrigins: [],
        maxPayloadBytes: 1024 * 1024,
      },
      agents: { list: [] },
      models: { providers: {} },
    });
  });

  it('generates a fresh 256-bit base64url token each time', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => generateGatewayToken()));
    expect(tokens.size).toBe(50);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
    expect(defaultGatewayConfig().gateway.auth.token).not.toBe(defaultGatewayConfig().gateway.auth.token);
  });

  it('refuses an unknown key, naming its path', () => {
    expect(problemsOf({ gateway: { prot: 1, auth: { token: TOKEN } } })).toEqual([
      'gateway.prot: unknown key',
    ]);
    expect(problemsOf({ gateway: { auth: { token: TOKEN, tokn: 'x' } }, extra: true })).toEqual(
      expect.arrayContaining(['gateway.auth.tokn: unknown key', 'extra: unknown key']),
    );
  });

  it('refuses wrong types and out-of-range values, naming the key path', () => {
    const [portProblem, ...rest] = problemsOf({ gateway: { port: '18789', auth: { token: TOKEN } } });
    expect(rest).toEqual([]);
    expect(portProblem).toMatch(/^gateway\.port: ./);
    expect(problemsOf({ gateway: { port: 70_000, auth: { token: TOKEN } } })).toEqual([
      expect.stringMatching(/^gateway\.port: ./),
    ]);
    expect(problemsOf({ gateway: { auth: { token: 'short' } } })).toEqual([
      'gateway.auth.token: at least 43 base64url characters (256 bits)',
    ]);
    expect(problemsOf({ gateway: {} })).toEqual([expect.stringMatching(/^gateway\.auth: ./)]);
    expect(problemsOf([])).toEqual([expect.stringMatching(/^\(root\): ./)]);
  });

  it('names the path inside records and arrays', () => {
    const problems = problemsOf({
      gateway: { auth: { token: TOKEN } },
      models: { providers: { openai: { api: 'openai-completions', baseUrl: 'ftp://example.com' } } },
    });
    expect(problems).toEqual(['models.providers.openai.baseUrl: an http(s) URL']);
    expect(
      problemsOf({
        gateway: { auth: { token: TOKEN } },
        models: {
          providers: { openai: { api: 'openai-chat', baseUrl: 'https://api.openai.com/v1', key: 'x' } },
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^models\.providers\.openai\.api: ./),
        'models.providers.openai.key: unknown key',
      ]),
    );
    expect(
      problemsOf({ gateway: { auth: { token: TOKEN } }, agents: { list: [agent('a'), { id: 'b' }] } }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^agents\.list\.1\.name: ./),
        expect.stringMatching(/^agents\.list\.1\.model: ./),
      ]),
    );
  });

  it('refuses duplicate agent ids at the duplicate', () => {
    expect(
      problemsOf({
        gateway: { auth: { token: TOKEN } },
        agents: { list: [agent('a'), agent('a'), agent('b'), agent('b')] },
      }),
    ).toEqual(['agents.list.1.id: duplicate agent id "a"', 'agents.list.3.id: duplicate agent id "b"']);
  });

  it('reports several problems at once', () => {
    const problems = problemsOf({
      gateway: { prot: 1, port: 'x', auth: { token: TOKEN } },
      models: { providers: { openai: { api: 'openai-completions', baseUrl: 'nope' } } },
    });
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        'gateway.prot: unknown key',
        expect.stringMatching(/^gateway\.port: ./),
        'models.providers.openai.baseUrl: an http(s) URL',
      ]),
    );
  });

  it('reports invalid JSON with its place, never quoting the file (it holds the token and API keys)', () => {
    expect(problemsOf('{"gateway": {')).toEqual([expect.stringMatching(/^not valid JSON \(/)]);
    expect(problemsOf('')).toEqual([expect.stringMatching(/^not valid JSON \(/)]);
    expect(problemsOf('{\n  "port": 1,\n  "x" 2}')).toEqual(['not valid JSON (line 3, column 7)']);
    // V8 quotes the whole text in its "Unexpected token" message: none of it may come through.
    const secretFile = `{"gateway": {"auth": {"token": x"${TOKEN}"}}}`;
    expect(() => JSON.parse(secretFile)).toThrow(TOKEN.slice(0, 8));
    expect(problemsOf(secretFile).join('\n')).not.toContain(TOKEN.slice(0, 8));
  });

  it('refuses a non-loopback bind unless gateway.allowNonLoopback is true', () => {
    expect(problemsOf({ gateway: { bind: '0.0.0.0', auth: { token: TOKEN } } })).toEqual([
      expect.stringMatching(
        /^gateway\.bind: "0\.0\.0\.0" is not a loopback address; set gateway\.allowNonLoopback/,
      ),
    ]);
    expect(problemsOf({ gateway: { bind: '192.168.1.10', auth: { token: TOKEN } } })).toEqual([
      expect.stringMatching(/^gateway\.bind: /),
    ]);
    expect(problemsOf({ gateway: { bind: 'example.com', auth: { token: TOKEN } } })).toEqual([
      'gateway.bind: "loopback" or an IP address',
    ]);
    const open = parseGatewayConfig(
      FILE,
      JSON.stringify({ gateway: { bind: '0.0.0.0', allowNonLoopback: true, auth: { token: TOKEN } } }),
    );
    expect(open.gateway.bind).toBe('0.0.0.0');
    for (const bind of ['loopback', '127.0.0.1', '127.1.2.3', '::1']) {
      expect(
        parseGatewayConfig(FILE, JSON.stringify({ gateway: { bind, auth: { token: TOKEN } } })).gateway.bind,
      ).toBe(bind);
    }
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.255.0.1', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', '128.0.0.1', '::ffff:10.0.0.1'].some(isLoopbackAddress)).toBe(false);
  });

  it('checks allowed origins', () => {
    const ok = parseGatewayConfig(
      FILE,
      JSON.stringify({
        gateway: {
          auth: { token: TOKEN },
          allowedOrigins: ['http://127.0.0.1:1420', `chrome-extension://${'a'.repeat(32)}`],
        },
      }),
    );
    expect(ok.gateway.allowedOrigins).toHaveLength(2);
    expect(
      problemsOf({
        gateway: {
          auth: { token: TOKEN },
          allowedOrigins: ['http://x.test', 'http://x.test/', 'chrome-extension://abc', 'null'],
        },
      }),
    ).toEqual([
      expect.stringMatching(/^gateway\.allowedOrigins\.1: an origin/),
      expect.stringMatching(/^gateway\.allowedOrigins\.2: an origin/),
      expect.stringMatching(/^gateway\.allowedOrigins\.3: an origin/),
    ]);
  });

  it('takes sync.agents as a list of local agent ids, and names a bad one or an unknown key', () => {
    const base = { gateway: { auth: { token: TOKEN } } };
    expect(parseGatewayConfig(FILE, JSON.stringify({ ...base, sync: { agents: ['main'] } })).sync).toEqual({
      agents: ['main'],
    });
    expect(parseGatewayConfig(FILE, JSON.stringify(base)).sync).toBeUndefined();
    expect(problemsOf({ ...base, sync: { agents: ['Main Agent'] } })).toEqual([
      expect.stringMatching(/^sync\.agents\.0: /),
    ]);
    expect(problemsOf({ ...base, sync: { agent: ['main'] } })).toEqual(['sync.agent: unknown key']);
  });
});
