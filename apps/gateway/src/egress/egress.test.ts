import { ApiError } from '@multiclaw/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FakeProvider, startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { createEgress, type EgressLogger, normaliseOrigin, originsFromProviders } from './egress.js';

const servers: FakeProvider[] = [];
async function start(): Promise<FakeProvider> {
  const server = await startFakeOpenAI(streamReply(['hi']));
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function recordingLog() {
  const warn = vi.fn<EgressLogger['warn']>();
  return { log: { warn }, warn, logged: () => JSON.stringify(warn.mock.calls) };
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe('EGRESS_REFUSED');
  return error as ApiError;
}

describe('egress', () => {
  it('lets a request to an allowlisted origin through', async () => {
    const server = await start();
    const { log, warn } = recordingLog();
    const egress = createEgress({ allowedOrigins: () => [server.url], log });

    const response = await egress.fetch(`${server.baseUrl}/models`);

    expect(response.status).toBe(404); // the fake's own answer: the request reached it
    expect(server.requests).toHaveLength(1);
    expect(warn).not.toHaveBeenCalled();
  });

  it('refuses an origin that is not on the allowlist, logs the origin only, and sends nothing', async () => {
    const allowed = await start();
    const other = await start();
    const { log, warn, logged } = recordingLog();
    const egress = createEgress({ allowedOrigins: () => [allowed.url], log });

    const error = await refusal(
      egress.fetch(`${other.url}/v1/secret-path?api_key=sk-leak`, { method: 'POST' }),
    );

    expect(error.message).toContain(other.url);
    expect(other.requests).toHaveLength(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(logged()).toContain(other.url);
    expect(logged()).not.toContain('secret-path');
    expect(logged()).not.toContain('sk-leak');
  });

  it('compares scheme and port exactly', async () => {
    const server = await start();
    const other = await start();
    const port = new URL(server.url).port;
    const egress = createEgress({
      allowedOrigins: () => [`https://127.0.0.1:${port}`, `http://localhost:${port}`, server.url],
      log: recordingLog().log,
    });

    await refusal(egress.fetch(`${other.url}/`)); // same host, other port
    expect(other.requests).toHaveLength(0);
    const httpsOnly = createEgress({
      allowedOrigins: () => [`https://127.0.0.1:${port}`],
      log: recordingLog().log,
    });
    await refusal(httpsOnly.fetch(`${server.url}/`)); // same host and port, other scheme
    expect(server.requests).toHaveLength(0);
  });

  it('normalises origins: case, default ports and paths do not matter', async () => {
    expect(normaliseOrigin('https://API.openai.com:443/v1?x=1')).toBe('https://api.openai.com');
    expect(normaliseOrigin('HTTP://127.0.0.1:80')).toBe('http://127.0.0.1');
    expect(normaliseOrigin('http://[::1]:11434/')).toBe('http://[::1]:11434');
    expect(normaliseOrigin('https://api.openai.com:8443')).toBe('https://api.openai.com:8443');
    expect(normaliseOrigin('file:///etc/passwd')).toBeUndefined();
    expect(normaliseOrigin('not a url')).toBeUndefined();

    const server = await start();
    const port = new URL(server.url).port;
    const egress = createEgress({
      allowedOrigins: () => [`HTTP://127.0.0.1:${port}/v1/`],
      log: recordingLog().log,
    });
    const response = await egress.fetch(`http://127.0.0.1:${port}/v1/models`);
    expect(response.status).toBe(404);
    expect(server.requests).toHaveLength(1);
  });

  it('reads the allowlist on every call, so a config reload applies at once', async () => {
    const server = await start();
    let origins = [server.url];
    const egress = createEgress({ allowedOrigins: () => origins, log: recordingLog().log });

    await egress.fetch(`${server.url}/`);
    origins = [];
    await refusal(egress.fetch(`${server.url}/`));
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['file:', 'file:///etc/passwd'],
    ['data:', 'data:text/plain;base64,c2VjcmV0'],
    ['ftp:', 'ftp://127.0.0.1/'],
    ['a malformed URL', 'http//nowhere'],
  ])('refuses %s URLs even when their origin string is allowlisted', async (_, url) => {
    const { log, warn, logged } = recordingLog();
    const egress = createEgress({ allowedOrigins: () => ['null', url], log });
    await refusal(egress.fetch(url));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(logged()).not.toContain('c2VjcmV0');
  });

  it('refuses a redirect to an origin off the allowlist, without following it', async () => {
    const allowed = await start();
    const elsewhere = await start();
    allowed.setScript({ kind: 'redirect', status: 307, location: `${elsewhere.url}/v1/chat/completions` });
    const { log, logged } = recordingLog();
    const egress = createEgress({ allowedOrigins: () => [allowed.url], log });

    const error = await refusal(
      egress.fetch(`${allowed.url}/v1/chat/completions`, { method: 'POST', body: '{}' }),
    );

    expect(error.message).toContain(elsewhere.url);
    expect(allowed.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    expect(logged()).toContain(elsewhere.url);
  });

  it('refuses a redirect to a file: URL', async () => {
    const allowed = await start();
    allowed.setScript({ kind: 'redirect', status: 302, location: 'file:///etc/passwd' });
    const egress = createEgress({ allowedOrigins: () => [allowed.url], log: recordingLog().log });
    await refusal(egress.fetch(`${allowed.url}/`));
  });

  it('hands a redirect within the allowlist back to the caller instead of following it', async () => {
    const server = await start();
    server.setScript((request) =>
      request.path === '/moved' ? { kind: 'redirect', location: '/v1/other' } : streamReply(['unreachable']),
    );
    const egress = createEgress({ allowedOrigins: () => [server.url], log: recordingLog().log });

    const response = await egress.fetch(`${server.url}/moved`, { redirect: 'follow' });

    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe('/v1/other');
    expect(server.requests.map((request) => request.path)).toEqual(['/moved']);
  });

  it('derives the allowlist from the configured providers', () => {
    expect(
      originsFromProviders({
        openai: { baseUrl: 'https://api.openai.com/v1' },
        other: { baseUrl: 'https://API.openai.com:443/v1/' },
        anthropic: { baseUrl: 'https://api.anthropic.com' },
        ollama: { baseUrl: 'http://127.0.0.1:11434/v1' },
      }),
    ).toEqual(['https://api.openai.com', 'https://api.anthropic.com', 'http://127.0.0.1:11434']);
  });
});
