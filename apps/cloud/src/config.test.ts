import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validEnv } from '../test/support/env.js';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './config.js';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const key = (bytes = 32) => randomBytes(bytes).toString('base64');

describe('loadConfig', () => {
  it('accepts a valid environment and freezes the result', () => {
    const config = loadConfig(validEnv({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }));
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.publicUrl).toBe('http://127.0.0.1:8080');
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(config.signingKeys[0]?.kid).toBe('k1');
    expect(config.signingKeys[0]?.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.corsOrigins)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('orders master keys newest first so the highest version is the active one', () => {
    const config = loadConfig(validEnv({ MULTICLAW_MASTER_KEYS: `1:${key()},3:${key()},2:${key()}` }));
    expect(config.masterKeys.map((k) => k.version)).toEqual([3, 2, 1]);
    expect(config.masterKeys[0]?.key.symmetricKeySize).toBe(32);
  });

  it('never echoes key material in a refusal', () => {
    const secret = key(16);
    const problems = problemsOf(validEnv({ MULTICLAW_MASTER_KEYS: `1:${secret}` }));
    expect(problems.join('\n')).not.toContain(secret);
  });

  const refusals: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ['missing database URL', { DATABASE_URL: undefined }, /^DATABASE_URL: is required/],
    ['malformed database URL', { DATABASE_URL: 'mysql://x@y/z' }, /^DATABASE_URL: must be a postgres/],
    [
      'placeholder database URL',
      { DATABASE_URL: 'postgresql://u:REPLACE_ME@h/db' },
      /^DATABASE_URL: still holds the placeholder/,
    ],
    ['missing master key', { MULTICLAW_MASTER_KEYS: undefined }, /^MULTICLAW_MASTER_KEYS: is required/],
    ['empty master key', { MULTICLAW_MASTER_KEYS: ' , ' }, /^MULTICLAW_MASTER_KEYS: is empty/],
    [
      'short master key',
      { MULTICLAW_MASTER_KEYS: `1:${key(16)}` },
      /^MULTICLAW_MASTER_KEYS: entry 1 \(1\) is 16 bytes; a key must be exactly 32/,
    ],
    [
      'long master key',
      { MULTICLAW_MASTER_KEYS: `1:${key(33)}` },
      /^MULTICLAW_MASTER_KEYS: entry 1 \(1\) is 33 bytes/,
    ],
    [
      'non-base64 master key',
      { MULTICLAW_MASTER_KEYS: '1:not base64!' },
      /^MULTICLAW_MASTER_KEYS: entry 1 \(1\) is not base64/,
    ],
    [
      'master key without version',
      { MULTICLAW_MASTER_KEYS: key() },
      /^MULTICLAW_MASTER_KEYS: entry 1 must look like <version number>/,
    ],
    [
      'master key version zero',
      { MULTICLAW_MASTER_KEYS: `0:${key()}` },
      /^MULTICLAW_MASTER_KEYS: entry 1 must look like/,
    ],
    [
      'known default master key',
      { MULTICLAW_MASTER_KEYS: '1:changeme' },
      /^MULTICLAW_MASTER_KEYS: entry 1 \(1\) is a known default/,
    ],
    [
      'all-zero master key',
      { MULTICLAW_MASTER_KEYS: `1:${Buffer.alloc(32).toString('base64')}` },
      /trivially guessable/,
    ],
    [
      'repeated word master key',
      { MULTICLAW_MASTER_KEYS: `1:${Buffer.from('changemechangemechangemechangeme').toString('base64')}` },
      /trivially guessable/,
    ],
    [
      'duplicate master key version',
      { MULTICLAW_MASTER_KEYS: `1:${key()},1:${key()}` },
      /entry 2 repeats the id 1/,
    ],
    [
      'missing signing key',
      { MULTICLAW_TOKEN_SIGNING_KEYS: undefined },
      /^MULTICLAW_TOKEN_SIGNING_KEYS: is required/,
    ],
    [
      'short signing key',
      { MULTICLAW_TOKEN_SIGNING_KEYS: `k1:${key(31)}` },
      /^MULTICLAW_TOKEN_SIGNING_KEYS: entry 1 \(k1\) is 31 bytes/,
    ],
    [
      'bad key id',
      { MULTICLAW_TOKEN_SIGNING_KEYS: `bad kid:${key()}` },
      /^MULTICLAW_TOKEN_SIGNING_KEYS: entry 1 must look like <key id>/,
    ],
    ['bad port', { PORT: '70000' }, /^PORT: /],
    ['non-numeric port', { PORT: 'eighty' }, /^PORT: /],
    ['bad public URL', { PUBLIC_URL: 'ftp://cloud.example.com' }, /^PUBLIC_URL: /],
    ['wildcard CORS', { CORS_ORIGINS: '*' }, /^CORS_ORIGINS: "\*" is not allowed/],
    [
      'CORS origin with a path',
      { CORS_ORIGINS: 'https://a.example.com/app' },
      /^CORS_ORIGINS: .*not a bare origin/,
    ],
    ['CORS garbage', { CORS_ORIGINS: 'not a url' }, /^CORS_ORIGINS: .*not an origin/],
    [
      'bad security contact',
      { SECURITY_CONTACT: 'security@example.com' },
      /^SECURITY_CONTACT: must be a mailto: or https: URI/,
    ],
    [
      'TLS cert without key',
      { TLS_CERT_FILE: '/tmp/cert.pem' },
      /^TLS_CERT_FILE: TLS_CERT_FILE and TLS_KEY_FILE must be set together/,
    ],
    [
      'unreadable TLS files',
      { TLS_CERT_FILE: '/nonexistent/c.pem', TLS_KEY_FILE: '/nonexistent/k.pem' },
      /^TLS_CERT_FILE: cannot read/,
    ],
    ['bad trusted proxy', { TRUST_PROXY: 'everyone' }, /^TRUST_PROXY: must be an IP address or CIDR/],
    ['bad log level', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    ['tiny body limit', { BODY_LIMIT_BYTES: '10' }, /^BODY_LIMIT_BYTES: /],
    ['bad NODE_ENV', { NODE_ENV: 'staging' }, /^NODE_ENV: /],
    [
      'access tokens over 10 minutes',
      { AUTH_ACCESS_TOKEN_TTL_SECONDS: '601' },
      /^AUTH_ACCESS_TOKEN_TTL_SECONDS: /,
    ],
    [
      'idle longer than absolute',
      { AUTH_SESSION_IDLE_TTL_SECONDS: '7200', AUTH_SESSION_ABSOLUTE_TTL_SECONDS: '3600' },
      /^AUTH_SESSION_IDLE_TTL_SECONDS: must not exceed/,
    ],
    ['argon2 memory below 19 MiB', { AUTH_ARGON2_MEMORY_KIB: '8192' }, /^AUTH_ARGON2_MEMORY_KIB: /],
    ['argon2 time cost of 1', { AUTH_ARGON2_TIME_COST: '1' }, /^AUTH_ARGON2_TIME_COST: /],
    ['lockout threshold of 1', { AUTH_LOCKOUT_THRESHOLD: '1' }, /^AUTH_LOCKOUT_THRESHOLD: /],
    [
      'failure window shorter than the longest lock',
      { AUTH_FAILURE_WINDOW_SECONDS: '600', AUTH_LOCKOUT_MAX_SECONDS: '900' },
      /^AUTH_LOCKOUT_MAX_SECONDS: must not exceed AUTH_FAILURE_WINDOW_SECONDS/,
    ],
  ];

  it.each(refusals)('refuses %s, naming the variable', (_name, overrides, expected) => {
    const problems = problemsOf(validEnv(overrides));
    expect(
      problems.some((p) => expected.test(p)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('refuses a signing key that reuses the master key', () => {
    const shared = key();
    const problems = problemsOf(
      validEnv({ MULTICLAW_MASTER_KEYS: `1:${shared}`, MULTICLAW_TOKEN_SIGNING_KEYS: `k1:${shared}` }),
    );
    expect(problems).toEqual([
      'MULTICLAW_TOKEN_SIGNING_KEYS: key k1 reuses a master key; each purpose needs its own key',
    ]);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf(
      validEnv({ DATABASE_URL: undefined, MULTICLAW_MASTER_KEYS: undefined, PORT: '-1' }),
    );
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'MULTICLAW_MASTER_KEYS',
      'PORT',
    ]);
  });

  describe('in production', () => {
    const production = (overrides: Record<string, string | undefined> = {}) =>
      validEnv({
        NODE_ENV: 'production',
        PUBLIC_URL: 'https://cloud.example.com',
        SECURITY_CONTACT: 'mailto:security@example.com',
        DATABASE_URL: 'postgresql://multiclaw:Vq3x9LmZ2@db:5432/multiclaw',
        SMTP_URL: 'smtps://cloud:Smtp-Pa55@mail.example.com:465',
        MAIL_FROM: 'MultiClaw <no-reply@example.com>',
        ...overrides,
      });

    it('accepts a complete environment', () => {
      expect(problemsOf(production())).toEqual([]);
    });

    it('refuses to start without mail, naming the features that need it', () => {
      const problems = problemsOf(production({ SMTP_URL: undefined, MAIL_FROM: undefined }));
      expect(problems).toContain(
        'SMTP_URL: is required in production: email verification, password reset and invitations send mail (smtp:// or smtps:// URL)',
      );
      expect(problems.some((p) => p.startsWith('MAIL_FROM: is required in production'))).toBe(true);
    });

    it('requires STARTTLS for smtp:// to another machine, not for smtps:// or loopback', () => {
      const transport = (url: string) => loadConfig(production({ SMTP_URL: url })).mail.transport;
      expect(transport('smtp://mail.example.com:587')).toMatchObject({ kind: 'smtp', requireTls: true });
      expect(transport('smtps://mail.example.com:465')).toMatchObject({ kind: 'smtp', requireTls: false });
      expect(transport('smtp://127.0.0.1:25')).toMatchObject({ kind: 'smtp', requireTls: false });
    });

    it.each([
      ['PUBLIC_URL', { PUBLIC_URL: undefined }, /^PUBLIC_URL: is required in production/],
      ['plain-http PUBLIC_URL', { PUBLIC_URL: 'http://cloud.example.com' }, /^PUBLIC_URL: must be https/],
      ['SECURITY_CONTACT', { SECURITY_CONTACT: undefined }, /^SECURITY_CONTACT: is required in production/],
      [
        'default database password',
        { DATABASE_URL: 'postgresql://postgres:postgres@db/multiclaw' },
        /^DATABASE_URL: uses a known default password/,
      ],
    ] as const)('refuses a missing or weak %s', (_name, overrides, expected) => {
      const problems = problemsOf(production(overrides));
      expect(
        problems.some((p) => expected.test(p)),
        problems.join('\n'),
      ).toBe(true);
    });

    it('allows plain http only to loopback', () => {
      expect(problemsOf(production({ PUBLIC_URL: 'http://127.0.0.1:8080' }))).toEqual([]);
    });
  });

  it('reads the TLS certificate and key files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mc-tls-'));
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    writeFileSync(join(dir, 'key.pem'), 'KEY');
    const config = loadConfig(
      validEnv({ TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') }),
    );
    expect(config.tls?.cert.toString()).toBe('CERT');
    expect(config.publicUrl).toBe('https://127.0.0.1:8080');
  });

  it('without SMTP_URL outside production, mail goes to the outbox in the state directory', () => {
    const config = loadConfig(validEnv({ MULTICLAW_CLOUD_STATE_DIR: '/var/lib/multiclaw-dev' }));
    expect(config.mail).toEqual({
      transport: { kind: 'outbox', directory: '/var/lib/multiclaw-dev/outbox' },
      from: 'MultiClaw <no-reply@multiclaw.localhost>',
    });
  });

  it('refuses a malformed SMTP_URL or MAIL_FROM without echoing the value', () => {
    const problems = problemsOf(
      validEnv({ SMTP_URL: 'http://user:Hunter2-secret@mail.example.com', MAIL_FROM: 'not an address' }),
    );
    expect(problems).toEqual([
      'SMTP_URL: must be an smtp:// or smtps:// URL, e.g. smtps://user:password@mail.example.com:465',
      'MAIL_FROM: must be an address, or a name and <address>',
    ]);
    expect(problems.join('\n')).not.toContain('Hunter2-secret');
  });

  it('chooses the event bus: PostgreSQL by default, NATS at NATS_URL, or memory', () => {
    expect(loadConfig(validEnv()).eventBus).toEqual({
      kind: 'postgres',
      natsUrl: 'nats://127.0.0.1:4222',
      natsSubject: 'multiclaw.events',
    });
    const nats = loadConfig(
      validEnv({ EVENT_BUS: 'nats', NATS_URL: 'tls://nats.internal:4222', NATS_SUBJECT: 'acme.cloud' }),
    );
    expect(nats.eventBus).toEqual({
      kind: 'nats',
      natsUrl: 'tls://nats.internal:4222',
      natsSubject: 'acme.cloud',
    });
    expect(loadConfig(validEnv({ EVENT_BUS: 'memory' })).eventBus.kind).toBe('memory');
  });

  it('refuses an unknown EVENT_BUS or a malformed NATS_URL without echoing the value', () => {
    const problems = problemsOf(
      validEnv({ EVENT_BUS: 'redis', NATS_URL: 'http://bus:Hunter2-secret@nats.example.com' }),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^EVENT_BUS: /);
    expect(problems[1]).toBe('NATS_URL: must be a nats:// or tls:// URL, e.g. nats://127.0.0.1:4222');
    expect(problems.join('\n')).not.toContain('Hunter2-secret');
    expect(problemsOf(validEnv({ NATS_SUBJECT: 'multiclaw.>' }))[0]).toMatch(
      /^NATS_SUBJECT: must be a plain/,
    );
  });

  it('treats empty values as unset', () => {
    const config = loadConfig(validEnv({ TLS_CERT_FILE: '', TLS_KEY_FILE: '', CORS_ORIGINS: '', PORT: '' }));
    expect(config.tls).toBeUndefined();
    expect(config.port).toBe(8080);
  });
});

describe('MULTICLAW_MASTER_KEYS_FILE', () => {
  const keyFile = (contents: string, mode = 0o600) => {
    const path = join(mkdtempSync(join(tmpdir(), 'mc-keys-')), 'master.keys');
    writeFileSync(path, contents, { mode });
    return path;
  };

  it('reads versioned keys from a 0600 file, one per line, with comments', () => {
    const path = keyFile(`# vault master keys\n1:${key()}\n2:${key()}\n`);
    const config = loadConfig(
      validEnv({ MULTICLAW_MASTER_KEYS: undefined, MULTICLAW_MASTER_KEYS_FILE: path }),
    );
    expect(config.masterKeys.map((k) => k.version)).toEqual([2, 1]);
  });

  it('refuses a file others can read, a missing file, both settings at once, and bad keys in it', () => {
    const loose = keyFile(`1:${key()}\n`, 0o644);
    expect(
      problemsOf(validEnv({ MULTICLAW_MASTER_KEYS: undefined, MULTICLAW_MASTER_KEYS_FILE: loose }))[0],
    ).toMatch(/^MULTICLAW_MASTER_KEYS_FILE: .* is readable by other users/);
    expect(
      problemsOf(
        validEnv({ MULTICLAW_MASTER_KEYS: undefined, MULTICLAW_MASTER_KEYS_FILE: '/nonexistent/keys' }),
      )[0],
    ).toMatch(/^MULTICLAW_MASTER_KEYS_FILE: cannot read/);
    expect(problemsOf(validEnv({ MULTICLAW_MASTER_KEYS_FILE: keyFile(`1:${key()}`) }))[0]).toMatch(
      /^MULTICLAW_MASTER_KEYS_FILE: set either it or MULTICLAW_MASTER_KEYS/,
    );
    const short = keyFile(`1:${key(16)}\n`);
    expect(
      problemsOf(validEnv({ MULTICLAW_MASTER_KEYS: undefined, MULTICLAW_MASTER_KEYS_FILE: short }))[0],
    ).toMatch(/^MULTICLAW_MASTER_KEYS_FILE: entry 1 \(1\) is 16 bytes/);
  });
});

describe('.env.example', () => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  const entries = Object.fromEntries(
    example
      .split('\n')
      .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it('documents every variable the config reads, and the state directory', () => {
    for (const variable of [...CONFIG_VARIABLES, 'MULTICLAW_CLOUD_STATE_DIR']) {
      expect(Object.keys(entries), variable).toContain(variable);
    }
  });

  it('cannot be used as it is: its placeholders are refused', () => {
    const problems = problemsOf(entries);
    expect(problems.some((p) => p.startsWith('DATABASE_URL: still holds the placeholder'))).toBe(true);
    expect(problems.some((p) => p.startsWith('MULTICLAW_MASTER_KEYS: entry 1 (1) is a known default'))).toBe(
      true,
    );
    expect(
      problems.some((p) =>
        p.startsWith('MULTICLAW_TOKEN_SIGNING_KEYS: entry 1 (2026-11) is a known default'),
      ),
    ).toBe(true);
  });
});
