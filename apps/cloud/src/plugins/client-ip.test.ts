import Fastify, { type FastifyServerOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/support/app.js';
import { clientIp, clientKey, normaliseIp } from './client-ip.js';

describe('normaliseIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['0:0:0:0:0:ffff:0a00:0001', '10.0.0.1'],
    ['::ffff:a00:1', '10.0.0.1'],
    ['[::ffff:10.0.0.1]', '10.0.0.1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['fe80::1%eth0', 'fe80::1'],
    // IPv4-compatible (deprecated) and NAT64 addresses are not IPv4-mapped.
    ['::1.2.3.4', '::102:304'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['not-an-ip', 'not-an-ip'],
  ])('%s → %s', (raw, expected) => {
    expect(normaliseIp(raw)).toBe(expected);
  });
});

describe('clientKey', () => {
  it('keeps IPv4 addresses whole and maps IPv4-mapped IPv6 onto them', () => {
    expect(clientKey('10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('10.0.0.2')).not.toBe(clientKey('10.0.0.1'));
  });

  it('puts every address of one IPv6 /64 under one key, and other /64s under others', () => {
    const key = clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    expect(key).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:DB8:1:2::1')).toBe(key);
    expect(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(key);
    expect(clientKey('2001:db8:1:3::1')).not.toBe(key);
    expect(clientKey('2001:db8:1:2::1', 128)).toBe('2001:db8:1:2::1');
    expect(clientKey('2001:db8:1:2ff::1', 56)).toBe('2001:db8:1:200::/56');
    expect(() => clientKey('::1', 129)).toThrow(RangeError);
  });
});

async function echoServer(trustProxy: FastifyServerOptions['trustProxy']) {
  const app = Fastify({ trustProxy });
  app.get('/ip', async (request) => ({ ip: clientIp(request) }));
  await app.ready();
  return app;
}

describe('clientIp behind Fastify', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', async () => {
    const app = await echoServer(false);
    const response = await app.inject({
      url: '/ip',
      remoteAddress: '203.0.113.7',
      headers: { 'x-forwarded-for': '198.51.100.1' },
    });
    expect(response.json()).toEqual({ ip: '203.0.113.7' });
    await app.close();
  });

  it('honours X-Forwarded-For from a trusted proxy only', async () => {
    const app = await echoServer(['10.0.0.1', '2001:db8:ffff::/48']);
    const ask = async (remoteAddress: string, forwardedFor?: string) =>
      (
        await app.inject({
          url: '/ip',
          remoteAddress,
          headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
        })
      ).json().ip;

    // Untrusted peers keep their own address, whatever they claim.
    expect(await ask('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7');
    expect(await ask('10.0.0.2', '198.51.100.1')).toBe('10.0.0.2');
    // The trusted proxy's forwarded client is used, normalised.
    expect(await ask('10.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(await ask('10.0.0.1', '::FFFF:198.51.100.1')).toBe('198.51.100.1');
    expect(await ask('10.0.0.1', '2001:DB8:0:0::0:1')).toBe('2001:db8::1');
    expect(await ask('2001:db8:ffff:1::9', '198.51.100.1')).toBe('198.51.100.1');
    // The same proxy reported by a dual-stack socket in IPv4-mapped form is trusted too.
    expect(await ask('::ffff:10.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
    // A client cannot prepend its own choice: the right-most untrusted hop wins.
    expect(await ask('10.0.0.1', '1.1.1.1, 198.51.100.1')).toBe('198.51.100.1');
    // Without the header the proxy itself is the client.
    expect(await ask('10.0.0.1')).toBe('10.0.0.1');
    await app.close();
  });
});

describe('clientIp in the cloud app (TRUST_PROXY)', () => {
  let testApp: Awaited<ReturnType<typeof createTestApp>>;
  let untrustedApp: Awaited<ReturnType<typeof createTestApp>>;
  const register = (app: Awaited<ReturnType<typeof createTestApp>>['app']) => {
    app.get('/test/client-ip', async (request) => ({ ip: clientIp(request) }));
  };

  beforeAll(async () => {
    testApp = await createTestApp({ env: { TRUST_PROXY: '10.0.0.1' }, beforeReady: register });
    untrustedApp = await createTestApp({ databaseUrl: testApp.databaseUrl, beforeReady: register });
  });

  afterAll(async () => {
    await untrustedApp?.app.close();
    await testApp?.close();
  });

  it('takes the forwarded client from the configured proxy and from nobody else', async () => {
    const ask = async (app: typeof testApp.app, remoteAddress: string) =>
      (
        await app.inject({
          url: '/test/client-ip',
          remoteAddress,
          headers: { 'x-forwarded-for': '198.51.100.1' },
        })
      ).json().ip;
    expect(await ask(testApp.app, '10.0.0.1')).toBe('198.51.100.1');
    expect(await ask(testApp.app, '::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(await ask(untrustedApp.app, '10.0.0.1')).toBe('10.0.0.1');
  });
});
