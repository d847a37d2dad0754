import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../test/support/app.js';

type Handshake = { ok: true; protocol: string | null } | { ok: false; error: string };

/** Opens a raw TLS connection pinned to one protocol version and reports what happened. */
function handshake(port: number, version: tls.SecureVersion, ca: string): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      minVersion: version,
      maxVersion: version,
      // Lets this client offer TLS 1.1 at all; OpenSSL 3 refuses it by default.
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      resolve({ ok: true, protocol: socket.getProtocol() });
      socket.end();
    });
    socket.once('error', (error) =>
      resolve({ ok: false, error: String((error as NodeJS.ErrnoException).code ?? error) }),
    );
  });
}

describe('TLS', () => {
  let pems: Awaited<ReturnType<typeof generate>>;
  let certDir: string;
  let testApp: Awaited<ReturnType<typeof createTestApp>>;
  let port: number;

  beforeAll(async () => {
    pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    certDir = mkdtempSync(join(tmpdir(), 'mc-tls-'));
    writeFileSync(join(certDir, 'cert.pem'), pems.cert);
    writeFileSync(join(certDir, 'key.pem'), pems.private, { mode: 0o600 });
    testApp = await createTestApp({
      env: { TLS_CERT_FILE: join(certDir, 'cert.pem'), TLS_KEY_FILE: join(certDir, 'key.pem') },
    });
    await testApp.app.listen({ host: '127.0.0.1', port: 0 });
    port = (testApp.app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('control: this client can negotiate TLS 1.1 with a server that allows it', async () => {
    // Without this, the refusal below could be the client's doing, not the cloud's.
    const lax = tls.createServer({
      cert: pems.cert,
      key: pems.private,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    await new Promise<void>((resolve) => lax.listen(0, '127.0.0.1', resolve));
    try {
      const result = await handshake((lax.address() as AddressInfo).port, 'TLSv1.1', pems.cert);
      expect(result).toEqual({ ok: true, protocol: 'TLSv1.1' });
    } finally {
      lax.close();
    }
  });

  it('refuses TLS 1.1', async () => {
    const result = await handshake(port, 'TLSv1.1', pems.cert);
    expect(result.ok).toBe(false);
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('accepts %s', async (version) => {
    expect(await handshake(port, version, pems.cert)).toEqual({ ok: true, protocol: version });
  });

  it('serves the API over HTTPS', async () => {
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pems.cert }, () => {
        socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
      let raw = '';
      socket.on('data', (chunk) => {
        raw += chunk.toString();
      });
      socket.on('end', () =>
        resolve({ status: Number(raw.split(' ')[1]), body: raw.split('\r\n\r\n')[1] ?? '' }),
      );
      socket.on('error', reject);
    });
    expect(response.status).toBe(200);
    expect(response.body).toContain('"status":"ok"');
  });
});
