import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { ApiError } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { bearerToken, checkHost, checkOrigin, clientKey, type GuardPolicy, tokensMatch } from './guard.js';

const PORT = 18789;
const policy: GuardPolicy = { port: PORT, extraHosts: [], allowedOrigins: ['http://127.0.0.1:1420'] };

/** The guard only reads headers: a request is its headers. */
const req = (headers: IncomingHttpHeaders) => ({ headers }) as IncomingMessage;

const TOKEN = 'Q2hhbmdlIG1lIHBsZWFzZSwgdGhpcyBpcyBhIHRlc3QgdG9rZW4';

describe('checkHost', () => {
  it.each([
    `127.0.0.1:${PORT}`,
    `localhost:${PORT}`,
    `LOCALHOST:${PORT}`,
    `LocalHost:${PORT}`,
    `[::1]:${PORT}`,
  ])('accepts the loopback authority %s', (host) => {
    expect(checkHost(req({ host }), policy)).toBeUndefined();
  });

  it.each([
    ['another name (DNS rebinding)', 'evil.example'],
    ['another name with our port', `evil.example:${PORT}`],
    ['a subdomain that resolves to loopback', `localhost.evil.example:${PORT}`],
    ['loopback on another port', `127.0.0.1:${PORT + 1}`],
    ['loopback without a port', '127.0.0.1'],
    ['localhost without a port', 'localhost'],
    ['[::1] without a port', '[::1]'],
    ['::1 without brackets', `::1:${PORT}`],
    ['another loopback address', `127.0.0.2:${PORT}`],
    ['an IPv4-mapped loopback', `[::ffff:127.0.0.1]:${PORT}`],
    ['0.0.0.0', `0.0.0.0:${PORT}`],
    ['a trailing dot', `localhost.:${PORT}`],
    ['a port with a leading zero', `127.0.0.1:0${PORT}`],
    ['surrounding whitespace', ` 127.0.0.1:${PORT}`],
    ['userinfo', `user@127.0.0.1:${PORT}`],
    ['an empty Host', ''],
  ])('refuses %s', (_label, host) => {
    const error = checkHost(req({ host }), policy);
    expect(error).toBeInstanceOf(ApiError);
    expect(error?.code).toBe('GATEWAY_HOST_NOT_ALLOWED');
  });

  it('refuses a request without a Host header', () => {
    expect(checkHost(req({}), policy)?.code).toBe('GATEWAY_HOST_NOT_ALLOWED');
  });

  it('follows the port of the policy', () => {
    const other = { ...policy, port: 4242 };
    expect(checkHost(req({ host: '127.0.0.1:4242' }), other)).toBeUndefined();
    expect(checkHost(req({ host: `127.0.0.1:${PORT}` }), other)?.code).toBe('GATEWAY_HOST_NOT_ALLOWED');
  });

  it('accepts an explicitly allowed extra authority, case-insensitively, and nothing more', () => {
    const bound = { ...policy, extraHosts: ['192.168.1.20:18789', '[FE80::1]:18789'] };
    expect(checkHost(req({ host: '192.168.1.20:18789' }), bound)).toBeUndefined();
    expect(checkHost(req({ host: '[fe80::1]:18789' }), bound)).toBeUndefined();
    expect(checkHost(req({ host: '192.168.1.21:18789' }), bound)?.code).toBe('GATEWAY_HOST_NOT_ALLOWED');
    expect(checkHost(req({ host: '192.168.1.20' }), bound)?.code).toBe('GATEWAY_HOST_NOT_ALLOWED');
  });
});

describe('checkOrigin', () => {
  it('accepts a request without an Origin (not a browser page)', () => {
    expect(checkOrigin(req({}), policy)).toBeUndefined();
  });

  it('accepts an origin on the allowlist, exactly', () => {
    expect(checkOrigin(req({ origin: 'http://127.0.0.1:1420' }), policy)).toBeUndefined();
  });

  it.each([
    ['another site', 'http://evil.example'],
    ['the opaque origin "null" (sandboxed iframe, file://)', 'null'],
    ['the gateway itself, which is not on the allowlist', `http://127.0.0.1:${PORT}`],
    ['the allowed host on another port', 'http://127.0.0.1:1421'],
    ['the allowed host over another scheme', 'https://127.0.0.1:1420'],
    ['localhost instead of 127.0.0.1', 'http://localhost:1420'],
    ['a trailing slash', 'http://127.0.0.1:1420/'],
    ['a prefix of an allowed origin', 'http://127.0.0.1:142'],
    ['an allowed origin as a prefix', 'http://127.0.0.1:1420.evil.example'],
    ['different case', 'HTTP://127.0.0.1:1420'],
    ['an empty Origin', ''],
    ['a chrome extension that is not paired', `chrome-extension://${'a'.repeat(32)}`],
  ])('refuses %s', (_label, origin) => {
    const error = checkOrigin(req({ origin }), policy);
    expect(error).toBeInstanceOf(ApiError);
    expect(error?.code).toBe('GATEWAY_ORIGIN_NOT_ALLOWED');
  });

  it('refuses every Origin when the allowlist is empty', () => {
    const none = { ...policy, allowedOrigins: [] };
    expect(checkOrigin(req({ origin: 'http://127.0.0.1:1420' }), none)?.code).toBe(
      'GATEWAY_ORIGIN_NOT_ALLOWED',
    );
    expect(checkOrigin(req({}), none)).toBeUndefined();
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer', `Bearer ${TOKEN}`],
    ['bearer', `bearer ${TOKEN}`],
    ['BEARER', `BEARER ${TOKEN}`],
    ['BeArEr', `BeArEr ${TOKEN}`],
  ])('reads the token after the %s scheme (the scheme is case-insensitive)', (_label, authorization) => {
    expect(bearerToken(req({ authorization }))).toBe(TOKEN);
  });

  it('keeps the case of the token itself', () => {
    expect(bearerToken(req({ authorization: 'Bearer AbC' }))).toBe('AbC');
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty header', ''],
    ['the Basic scheme', `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`],
    ['Basic carrying the bare token', `Basic ${TOKEN}`],
    ['the Token scheme', `Token ${TOKEN}`],
    ['a bare token without a scheme', TOKEN],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['two spaces after the scheme', `Bearer  ${TOKEN}`],
    ['a tab after the scheme', `Bearer\t${TOKEN}`],
    ['a leading space', ` Bearer ${TOKEN}`],
    ['a trailing space', `Bearer ${TOKEN} `],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
    ['a scheme glued to the token', `Bearer${TOKEN}`],
    ['a newline inside', `Bearer ${TOKEN}\nBearer other`],
  ])('returns nothing for %s', (_label, authorization) => {
    expect(bearerToken(req(authorization === undefined ? {} : { authorization }))).toBeUndefined();
  });

  it('never reads the URL: ?token= and ?access_token= are ignored', () => {
    const fromQuery = {
      headers: {},
      url: `/v1/models?token=${TOKEN}&access_token=${TOKEN}`,
    } as IncomingMessage;
    expect(bearerToken(fromQuery)).toBeUndefined();
  });
});

describe('tokensMatch', () => {
  it('matches the same token', () => {
    expect(tokensMatch(TOKEN, TOKEN)).toBe(true);
    expect(tokensMatch(`${TOKEN}`.slice(0), TOKEN)).toBe(true);
  });

  it('refuses a token that differs only in its last character', () => {
    const last = TOKEN.at(-1) === 'A' ? 'B' : 'A';
    expect(tokensMatch(`${TOKEN.slice(0, -1)}${last}`, TOKEN)).toBe(false);
  });

  it('refuses a token that differs only in its first character', () => {
    const first = TOKEN[0] === 'A' ? 'B' : 'A';
    expect(tokensMatch(`${first}${TOKEN.slice(1)}`, TOKEN)).toBe(false);
  });

  it.each([
    ['a prefix of the token', TOKEN.slice(0, -1)],
    ['the token with an extra character', `${TOKEN}x`],
    ['the token twice', `${TOKEN}${TOKEN}`],
    ['a one-character token', 'Q'],
    ['an empty string', ''],
    ['a very long string', 'x'.repeat(100_000)],
    ['the token in another case', TOKEN.toLowerCase()],
    ['the token with surrounding spaces', ` ${TOKEN} `],
    [
      'the SHA-256 of the token (what is compared internally)',
      createHash('sha256').update(TOKEN).digest('hex'),
    ],
  ])('refuses %s (lengths differ or content differs) without throwing', (_label, presented) => {
    expect(() => tokensMatch(presented, TOKEN)).not.toThrow();
    expect(tokensMatch(presented, TOKEN)).toBe(false);
  });

  it('refuses an absent token', () => {
    expect(tokensMatch(undefined, TOKEN)).toBe(false);
  });

  it('compares bytes: a look-alike Unicode character is not the same token', () => {
    // Cyrillic "а" (U+0430) instead of Latin "a".
    expect(tokensMatch('abc\u0430', 'abca')).toBe(false);
    expect(tokensMatch('caf\u00e9', 'cafe\u0301')).toBe(false);
  });
});

describe('clientKey', () => {
  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:192.168.1.5', '192.168.1.5'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['fe80::1', 'fe80::1'],
    ['::ffff:7f00:1', '::ffff:7f00:1'],
  ])('%s counts as %s', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });

  it('gives an IPv4-mapped address and its IPv4 address the same key', () => {
    expect(clientKey('::ffff:127.0.0.1')).toBe(clientKey('127.0.0.1'));
  });

  it('keeps IPv6 loopback distinct from IPv4 loopback', () => {
    expect(clientKey('::1')).not.toBe(clientKey('127.0.0.1'));
  });

  it('gives a socket without an address one shared key', () => {
    expect(clientKey(undefined)).toBe('unknown');
  });
});
