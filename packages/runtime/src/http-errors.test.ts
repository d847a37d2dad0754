import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { Writable } from 'node:stream';
import { ApiError, ErrorEnvelope } from '@multiclaw/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { answerClientError, createErrorHandling, rawErrorResponse } from './http-errors.js';
import { createLogger } from './logger.js';

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0)) await thing.close();
});

class WidgetBusyError extends Error {
  readonly code = 'WIDGET_BUSY';
}

const handling = createErrorHandling({
  knownErrors: { WIDGET_BUSY: ['SERVICE_UNAVAILABLE', 'The widgets are busy; try again in a moment'] },
  recognise: (error) =>
    error.message === 'recognise me' ? new ApiError('FORBIDDEN', 'Recognised by the app') : undefined,
  internalMessage: 'Something went wrong in the probe',
  notFoundMessage: 'No such probe route',
  defaultRetryAfterSeconds: { SERVICE_UNAVAILABLE: 1 },
});

/** A Fastify app with the shared handling and routes that throw what a real app meets. */
async function probeApp(configure?: (app: FastifyInstance) => void) {
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const app = Fastify({
    loggerInstance: createLogger({ level: 'info', destination }) as FastifyBaseLogger,
    bodyLimit: 1_000,
    frameworkErrors: handling.answerFrameworkError,
  });
  opened.push(app);
  handling.handleErrors(app);
  handling.handleNotFound(app);
  app.post('/echo', async (request) => ({ got: request.body }));
  app.get('/refuse', async () => {
    throw new ApiError('NOT_FOUND', 'No such widget');
  });
  app.get('/limited', async () => {
    throw new ApiError('RATE_LIMITED', 'Slow down', { retryAfterSeconds: 7 });
  });
  app.get('/limited-with-header', async (_request, reply) => {
    reply.header('retry-after', '99');
    throw new ApiError('RATE_LIMITED', 'Slow down', { retryAfterSeconds: 7 });
  });
  app.get('/busy', async () => {
    throw new WidgetBusyError('busy');
  });
  app.get('/crash', async () => {
    throw new Error('connect ECONNREFUSED 10.0.0.7:5432 at /srv/secret/path.ts:12');
  });
  app.get('/throw-string', async () => {
    throw 'a string, not an Error';
  });
  app.get('/recognised', async () => {
    throw new Error('recognise me');
  });
  app.get('/method-status', async () => {
    throw Object.assign(new Error('from a plugin'), { statusCode: 405 });
  });
  app.get('/params/:id', async () => ({ ok: true }));
  configure?.(app);
  await app.ready();
  return { app, logs };
}

function expectEnvelope(body: string, code: string, requestId?: string) {
  const parsed = ErrorEnvelope.parse(JSON.parse(body));
  expect(parsed.error.code).toBe(code);
  if (requestId !== undefined) expect(parsed.error.requestId).toBe(requestId);
  expect(body).not.toMatch(/stack|at \/|\.ts:\d|ECONNREFUSED/);
  return parsed.error;
}

describe('createErrorHandling', () => {
  it('sends an ApiError as the envelope with its status and the request id, logged as a refusal', async () => {
    const { app, logs } = await probeApp();
    const response = await app.inject({ method: 'GET', url: '/refuse' });
    expect(response.statusCode).toBe(404);
    const error = expectEnvelope(response.body, 'NOT_FOUND');
    expect(error.message).toBe('No such widget');
    const line = logs.find((entry) => entry.msg === 'request refused');
    expect(line).toMatchObject({ level: 30, errorCode: 'NOT_FOUND', reqId: error.requestId });
    expect(line?.err).toBeUndefined();
  });

  it.each([
    [
      'malformed JSON',
      'application/json',
      '{"a": ',
      400,
      'MALFORMED_JSON',
      'The request body is not valid JSON',
    ],
    [
      'an empty JSON body',
      'application/json',
      '',
      400,
      'BAD_REQUEST',
      'The request body is empty but declares JSON',
    ],
    [
      'another media type',
      'text/csv',
      'a,b',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the body as application/json',
    ],
    [
      'a body over the limit',
      'application/json',
      `"${'x'.repeat(2_000)}"`,
      413,
      'PAYLOAD_TOO_LARGE',
      'The request body is too large',
    ],
  ])('answers %s in the envelope', async (_name, contentType, payload, status, code, message) => {
    const { app } = await probeApp();
    const response = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': contentType },
      payload,
    });
    expect(response.statusCode).toBe(status);
    expect(expectEnvelope(response.body, code).message).toBe(message);
  });

  it('control: a valid body passes', async () => {
    const { app } = await probeApp();
    const response = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
    expect(response.json()).toEqual({ got: { a: 1 } });
  });

  it("answers a content-type parser's own SyntaxError, marked 400, as MALFORMED_JSON", async () => {
    const { app } = await probeApp((app) => {
      app.addContentTypeParser('application/x-probe', { parseAs: 'string' }, (_request, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch (error) {
          done(Object.assign(error as Error, { statusCode: 400 }), undefined);
        }
      });
    });
    const response = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/x-probe' },
      payload: '{nope',
    });
    expect(response.statusCode).toBe(400);
    expectEnvelope(response.body, 'MALFORMED_JSON');
  });

  it('hides an unexpected error behind INTERNAL, and logs it whole as a failure', async () => {
    const { app, logs } = await probeApp();
    for (const url of ['/crash', '/throw-string']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(500);
      expect(expectEnvelope(response.body, 'INTERNAL').message).toBe('Something went wrong in the probe');
    }
    const failure = logs.find((entry) => entry.msg === 'request failed') as {
      level: number;
      errorCode: string;
      err: { message: string; stack: string };
    };
    expect(failure).toMatchObject({ level: 50, errorCode: 'INTERNAL' });
    expect(failure.err.message).toContain('ECONNREFUSED');
  });

  it("maps the app's own errors by code, and its recogniser first", async () => {
    const { app } = await probeApp();
    const busy = await app.inject({ method: 'GET', url: '/busy' });
    expect(busy.statusCode).toBe(503);
    expect(expectEnvelope(busy.body, 'SERVICE_UNAVAILABLE').message).toBe(
      'The widgets are busy; try again in a moment',
    );
    const recognised = await app.inject({ method: 'GET', url: '/recognised' });
    expect(recognised.statusCode).toBe(403);
    expect(expectEnvelope(recognised.body, 'FORBIDDEN').message).toBe('Recognised by the app');
  });

  it("answers another error's HTTP status with the matching code", async () => {
    const { app } = await probeApp();
    const response = await app.inject({ method: 'GET', url: '/method-status' });
    expect(response.statusCode).toBe(405);
    expectEnvelope(response.body, 'METHOD_NOT_ALLOWED');
  });

  it("sends retry-after from the error's details, else the code's default, never over one already set", async () => {
    const { app } = await probeApp();
    const limited = await app.inject({ method: 'GET', url: '/limited' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    const busy = await app.inject({ method: 'GET', url: '/busy' });
    expect(busy.headers['retry-after']).toBe('1');
    const refused = await app.inject({ method: 'GET', url: '/refuse' });
    expect(refused.headers['retry-after']).toBeUndefined();
    const preset = await app.inject({ method: 'GET', url: '/limited-with-header' });
    expect(preset.headers['retry-after']).toBe('99');
  });

  it('gives the body the shape the scope speaks', async () => {
    const { app } = await probeApp((app) =>
      app.register(
        async (scope) => {
          handling.handleErrors(scope, (error) => ({ error: { message: error.message, code: error.code } }));
          scope.get('/refuse', async () => {
            throw new ApiError('NOT_FOUND', 'No such model');
          });
        },
        { prefix: '/other' },
      ),
    );
    const response = await app.inject({ method: 'GET', url: '/other/refuse' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { message: 'No such model', code: 'NOT_FOUND' } });
  });

  it('answers a request to no route, and a path that is not valid UTF-8, in the envelope', async () => {
    const { app } = await probeApp();
    const missing = await app.inject({ method: 'GET', url: '/nothing-here' });
    expect(missing.statusCode).toBe(404);
    expect(expectEnvelope(missing.body, 'NOT_FOUND', missing.json().error.requestId).message).toBe(
      'No such probe route',
    );
    const badUrl = await app.inject({ method: 'GET', url: '/params/%ff' });
    expect(badUrl.statusCode).toBe(400);
    expect(expectEnvelope(badUrl.body, 'BAD_REQUEST').message).toBe(
      'The request path is not valid percent-encoded UTF-8',
    );
  });
});

describe('rawErrorResponse', () => {
  it('is a whole HTTP/1.1 response carrying the envelope, retry-after included', () => {
    const text = rawErrorResponse(
      new ApiError('RATE_LIMITED', 'Too many connections', { retryAfterSeconds: 3 }),
      'connection',
    );
    const [head = '', body = ''] = text.split('\r\n\r\n');
    expect(head.split('\r\n')).toEqual([
      'HTTP/1.1 429 Too Many Requests',
      'Retry-After: 3',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
    ]);
    expect(expectEnvelope(body, 'RATE_LIMITED', 'connection').details).toEqual({ retryAfterSeconds: 3 });
  });
});

describe('answerClientError', () => {
  async function listening(): Promise<number> {
    const server: Server = createServer((_request, response) => response.end('ok'));
    server.on('clientError', answerClientError);
    opened.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Sends raw bytes and reads until the server closes the connection. */
  function exchange(port: number, bytes: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('utf8');
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
  }

  it('answers bytes that are not HTTP with 400 in the envelope, then closes', async () => {
    const port = await listening();
    const answer = await exchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const error = expectEnvelope(answer.slice(answer.indexOf('\r\n\r\n') + 4), 'BAD_REQUEST', 'client-error');
    expect(error.message).toBe('The request is not valid HTTP/1.1');
  });

  it('answers headers over the limit with 431 HEADERS_TOO_LARGE', async () => {
    const port = await listening();
    const answer = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expectEnvelope(answer.slice(answer.indexOf('\r\n\r\n') + 4), 'HEADERS_TOO_LARGE');
  });
});
