import { request } from 'node:http';
import {
  DESKTOP_COMMANDS,
  DESKTOP_SECRET_HEADER,
  ErrorEnvelope,
  WS_PROTOCOL_VERSION,
} from '@multiclaw/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openEvents, startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';
import { MAX_EVENT_STREAMS } from './event-stream.js';

let t: TestDesktop;
beforeAll(async () => {
  t = await startTestDesktop({ gateway: false });
});
afterAll(async () => {
  await t.close();
});

const secret = (window = 'main') => ({ [DESKTOP_SECRET_HEADER]: t.desktop.secretOf(window) });
const codeOf = (body: unknown) => ErrorEnvelope.parse(body).error.code;

/** A raw request, so Host can be anything (fetch always sends the real one). */
function raw(options: { path: string; method?: string; headers: Record<string, string>; body?: string }) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: t.desktop.port,
          path: options.path,
          method: options.method ?? 'GET',
          headers: options.headers,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end(options.body);
    },
  );
}

describe('the window secret', () => {
  it('is 256 bits, different per window, and in the window URL fragment only', () => {
    const main = t.desktop.secretOf('main');
    expect(Buffer.from(main, 'base64url')).toHaveLength(32);
    expect(t.desktop.secretOf('chat')).not.toBe(main);
    expect(t.desktop.windowUrl('main')).toBe(`${t.desktop.url}/#secret=${main}`);
  });

  it.each([
    ['missing', {}],
    ['missing, with the host’s own Origin', { origin: 'OWN' }],
    ['wrong', { [DESKTOP_SECRET_HEADER]: 'A'.repeat(43) }],
    ['wrong, with the host’s own Origin', { [DESKTOP_SECRET_HEADER]: 'A'.repeat(43), origin: 'OWN' }],
    ['empty', { [DESKTOP_SECRET_HEADER]: '' }],
    ['in the query string instead of the header', { query: true }],
  ])('answers 401 when it is %s, and runs nothing', async (_name, extra: Record<string, unknown>) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(extra)) {
      if (name === 'query') continue;
      headers[name] = value === 'OWN' ? t.desktop.url : String(value);
    }
    const query = extra.query ? `?secret=${t.desktop.secretOf('main')}` : '';
    const response = await fetch(`${t.desktop.url}/ipc/providers.add${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ id: 'sneaky', api: 'openai-completions', baseUrl: 'http://127.0.0.1:9/v1' }),
    });
    expect(response.status).toBe(401);
    expect(codeOf(await response.json())).toBe('DESKTOP_SECRET_INVALID');
    expect((await t.config.current()).models.providers).toEqual({});
  });

  it('lets the right secret through, with or without the host’s own Origin', async () => {
    expect((await t.call('settings.get')).status).toBe(200);
    for (const origin of [t.desktop.url, `http://localhost:${t.desktop.port}`]) {
      const answer = await t.call('settings.get', {}, { headers: { ...secret(), origin } });
      expect(answer.status).toBe(200);
    }
  });
});

describe('Host and Origin', () => {
  it.each(['evil.example', `evil.example:${0}`, `127.0.0.1.nip.io:PORT`, `127.0.0.1:1`, `[::1]:PORT`])(
    'answers 403 to Host %s (DNS rebinding), for pages and commands alike',
    async (host) => {
      const hostHeader = host.replace('PORT', String(t.desktop.port));
      const page = await raw({ path: '/', headers: { host: hostHeader } });
      expect(page.status).toBe(403);
      expect(codeOf(JSON.parse(page.body))).toBe('DESKTOP_HOST_NOT_ALLOWED');
      const command = await raw({
        path: '/ipc/settings.get',
        method: 'POST',
        headers: { host: hostHeader, 'content-type': 'application/json', ...secret() },
        body: '{}',
      });
      expect(command.status).toBe(403);
      expect(codeOf(JSON.parse(command.body))).toBe('DESKTOP_HOST_NOT_ALLOWED');
    },
  );

  it('accepts localhost:<port> as Host', async () => {
    const page = await raw({ path: '/', headers: { host: `localhost:${t.desktop.port}` } });
    expect(page.status).toBe(200);
  });

  it.each(['https://evil.example', 'http://127.0.0.1:1', 'null', `http://127.0.0.1:${'PORT'}.evil.example`])(
    'answers 403 to a call from Origin %s, even with the right secret, and runs nothing',
    async (origin) => {
      const answer = await t.call(
        'settings.update',
        { localOnly: true },
        { headers: { ...secret(), origin: origin.replace('PORT', String(t.desktop.port)) } },
      );
      expect(answer.status).toBe(403);
      expect(codeOf(answer.body)).toBe('DESKTOP_ORIGIN_NOT_ALLOWED');
      expect((await t.call('settings.get')).body.localOnly).toBe(false);
    },
  );
});

describe('capabilities at the door', () => {
  it('answers 403 to a command the window’s capabilities deny, logs it, and never runs the handler', async () => {
    const before = t.logs.lines.length;
    const answer = await t.call(
      'providers.add',
      {
        id: 'chatwindow',
        api: 'openai-completions',
        baseUrl: 'http://127.0.0.1:9/v1',
        apiKey: 'sk-from-chat',
      },
      { window: 'chat' },
    );
    expect(answer.status).toBe(403);
    expect(codeOf(answer.body)).toBe('DESKTOP_COMMAND_DENIED');
    // The handler's effect would be a provider in openclaw.json.
    expect((await t.config.current()).models.providers).toEqual({});
    const logged = t.logs.lines.slice(before).find((line) => line.msg === 'command denied');
    expect(logged).toMatchObject({
      window: 'chat',
      command: 'providers.add',
      reason: 'denied',
      deniedBy: ['credentials-main-only'],
    });
    expect(JSON.stringify(t.logs.lines)).not.toContain('sk-from-chat');
  });

  it('refuses a denied command before reading its body', async () => {
    const answer = await raw({
      path: '/ipc/providers.add',
      method: 'POST',
      headers: { host: `127.0.0.1:${t.desktop.port}`, 'content-type': 'application/json', ...secret('chat') },
      body: '{ not json',
    });
    expect(answer.status).toBe(403);
    expect(codeOf(JSON.parse(answer.body))).toBe('DESKTOP_COMMAND_DENIED');
  });

  it('lets the same command through for the main window', async () => {
    const answer = await t.call('providers.add', {
      id: 'mainwindow',
      api: 'openai-completions',
      baseUrl: 'http://127.0.0.1:9/v1',
    });
    expect(answer.status).toBe(200);
    expect(Object.keys((await t.config.current()).models.providers)).toEqual(['mainwindow']);
    await t.call('providers.remove', { id: 'mainwindow' });
  });

  it.each(['shell.exec', 'constructor', '__proto__', 'toString', 'providers', 'chat.send.extra', '..%2Fetc'])(
    'answers 403 to a command that does not exist (%s), logged',
    async (name) => {
      const before = t.logs.lines.length;
      const answer = await t.call(name, {});
      expect(answer.status).toBe(403);
      expect(codeOf(answer.body)).toBe('DESKTOP_COMMAND_DENIED');
      expect(t.logs.lines.slice(before).some((line) => line.msg === 'command denied')).toBe(true);
    },
  );

  it('answers 401 before 403: without a secret nobody learns which commands exist', async () => {
    const answer = await t.call('shell.exec', {}, { headers: {} });
    expect(answer.status).toBe(401);
  });
});

describe('a sweep of command names', () => {
  it('never runs anything for a name the chat window may not call, whatever the name', async () => {
    const allowedForChat = new Set([
      'gateway.status',
      'agents.list',
      'agents.get',
      'chat.send',
      'chat.abort',
      'chat.history',
      'sessions.list',
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(...DESKTOP_COMMANDS)),
        async (name) => {
          fc.pre(!allowedForChat.has(name));
          const response = await fetch(`${t.desktop.url}/ipc/${encodeURIComponent(name)}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...secret('chat') },
            body: JSON.stringify({
              localOnly: true,
              id: 'swept',
              api: 'openai-completions',
              baseUrl: 'http://127.0.0.1:9/',
            }),
          });
          expect([403, 404]).toContain(response.status);
          await response.arrayBuffer();
        },
      ),
      { numRuns: 150 },
    );
    expect((await t.config.current()).models.providers).toEqual({});
    expect((await t.call('settings.get')).body.localOnly).toBe(false);
  });
});

/** For each command, inputs its schema must refuse. Written by hand, independent of the catalog's schemas. */
const BAD_INPUTS: Record<string, unknown[]> = {
  'gateway.status': [{ extra: 1 }, []],
  'gateway.start': [{ args: ['--port', '1'] }],
  'agents.list': [{ all: true }],
  'agents.get': [{}, { agentId: 'Not An Id' }, { agentId: '../etc' }],
  'agents.create': [
    {},
    { name: 'A' },
    { name: '', model: 'openai/x' },
    { name: 'A', model: 'no-slash' },
    { name: 'A', model: 'openai/x', id: 'x' },
  ],
  'agents.update': [{ name: 'A' }, { agentId: 'a', model: 'bad model' }, { agentId: 'a', maxTokens: -1 }],
  'agents.delete': [{}, { agentId: 7 }],
  'providers.list': [{ withKeys: true }],
  'providers.add': [
    {},
    { id: 'p', api: 'openai-completions' },
    { id: 'p', api: 'grpc', baseUrl: 'https://x.example' },
    { id: 'p', api: 'openai-completions', baseUrl: 'file:///etc/passwd' },
    { id: 'P Q', api: 'openai-completions', baseUrl: 'https://x.example' },
    { id: 'p', api: 'openai-completions', baseUrl: 'https://x.example', apiKey: '' },
  ],
  'providers.replaceKey': [{ id: 'p' }, { id: 'p', apiKey: '   ' }, { id: 'p', apiKey: 'k'.repeat(5000) }],
  'providers.clearKey': [{}, { id: 'p', apiKey: 'x' }],
  'providers.scope': [{ id: 'p' }, { id: 'p', allowedAgents: ['Bad Agent'] }],
  'providers.remove': [{}, { id: '' }],
  'chat.send': [
    {},
    { agentId: 'main' },
    { agentId: 'main', message: '' },
    { agentId: 'main', message: 'hi', sessionKey: 'not-a-key' },
  ],
  'chat.abort': [{}, { sessionKey: 'main' }],
  'chat.history': [
    {},
    { sessionKey: 'agent:main:x', limit: 0 },
    { sessionKey: 'agent:main:x', cursor: '-1' },
  ],
  'sessions.list': [{ limit: 1000 }, { offset: -1 }, { search: 's'.repeat(201) }],
  'sessions.delete': [{}, { sessionKey: 'x' }],
  'settings.get': [{ all: true }],
  'settings.update': [
    { cloudUrl: 'http://cloud.example.com' },
    { cloudUrl: 'https://user:pw@cloud.example.com' },
    { localOnly: 'yes' },
    { gatewayAllowedOrigins: ['https://evil.example/path'] },
    { theme: 'dark' },
  ],
  'diagnostics.crashLogs': [{ path: '/etc' }],
  'updates.check': [{ force: true }],
  'updates.apply': [{ version: '0.0.1' }],
  'recordings.list': [{ all: true }],
  'recordings.get': [{}, { id: '../etc/passwd' }],
  'recordings.rename': [
    { id: '00000000-0000-4000-8000-000000000000' },
    { id: '00000000-0000-4000-8000-000000000000', name: '' },
  ],
  'recordings.delete': [{ id: 7 }],
  'recordings.attach': [{ id: '00000000-0000-4000-8000-000000000000', agentId: 'Not An Id' }],
  'recordings.detach': [{ id: '00000000-0000-4000-8000-000000000000' }],
  'recordings.export': [{ id: '00000000-0000-4000-8000-000000000000', path: '/etc/cron.d/x' }],
  'extension.pairingCode': [{ ttl: 3600 }],
  'extension.list': [{ withTokens: true }],
  'extension.unpair': [{}],
  'account.status': [{ token: true }],
  'account.signIn': [
    {},
    { email: 'a@example.com' },
    { email: 'a@example.com', password: '' },
    { email: 'a@example.com', password: 'p', refreshToken: 'x' },
  ],
  'account.signOut': [{ everywhere: 'yes' }],
  'account.sso.start': [
    {},
    { provider: 'Not A Slug' },
    { provider: '../x' },
    { provider: 'idp', redirectUri: 'http://evil.example' },
  ],
  'account.sso.providers': [{ provider: 'idp' }],
  'account.signUp': [
    {},
    { email: 'not an address', password: 'p' },
    { email: 'a@example.com', password: '' },
    { email: 'a@example.com', password: 'p', role: 'admin' },
  ],
  'account.verifyEmail': [{}, { token: '' }, { token: 't'.repeat(513) }],
  'account.resendVerification': [{ email: 'a@example.com' }],
  'account.forgotPassword': [{}, { email: 'a@example.com', redirect: 'http://evil.example' }],
  'account.resetPassword': [{ token: 'abc' }, { token: '', password: 'p' }, { token: 'abc', password: '' }],
  'account.profile': [{ userId: '00000000-0000-4000-8000-000000000001' }],
  'account.changePassword': [{}, { currentPassword: 'a' }, { currentPassword: 'a', newPassword: '' }],
  'account.sessions.list': [{ all: true }],
  'account.sessions.revoke': [{}, { sessionId: 'x' }],
  'account.sessions.revokeOthers': [{ keep: 'x' }],
  'account.export': [{ path: '/etc/passwd' }],
  'account.delete': [{ password: '' }, { password: 'p', userId: '00000000-0000-4000-8000-000000000001' }],
  'workspaces.list': [{ all: true }],
  'workspaces.create': [{}, { name: '' }, { name: 'n'.repeat(101) }],
  'workspaces.rename': [
    { workspaceId: 'x', name: 'a' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', name: '' },
  ],
  'workspaces.delete': [{}, { workspaceId: '../..' }],
  'members.list': [{}, { workspaceId: 7 }],
  'members.changeRole': [
    {
      workspaceId: '00000000-0000-4000-8000-000000000001',
      userId: '00000000-0000-4000-8000-000000000001',
      role: 'admin',
    },
    { workspaceId: '00000000-0000-4000-8000-000000000001', role: 'owner' },
  ],
  'members.remove': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', userId: 'me' },
  ],
  'members.transfer': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', userId: '../x' },
  ],
  'invitations.create': [
    { workspaceId: '00000000-0000-4000-8000-000000000001', email: 'not-an-email', role: 'member' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', email: 'a@example.com', role: 'root' },
  ],
  'invitations.list': [{}, { workspaceId: 'x' }],
  'invitations.revoke': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', invitationId: 'x' },
  ],
  'invitations.accept': [{}, { token: '' }, { token: 't'.repeat(257) }],
  'workspaceAgents.list': [{}, { workspaceId: '00000000-0000-4000-8000-000000000001', limit: 1000 }],
  'workspaceAgents.create': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', agent: { name: 'a' } },
  ],
  'workspaceAgents.update': [
    {
      workspaceId: '00000000-0000-4000-8000-000000000001',
      agentId: '00000000-0000-4000-8000-000000000001',
      changes: {},
    },
    { workspaceId: '00000000-0000-4000-8000-000000000001', agentId: 'x', changes: { name: 'a' } },
  ],
  'workspaceAgents.delete': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', agentId: 'x' },
  ],
  'secrets.list': [{}, { workspaceId: '00000000-0000-4000-8000-000000000001', cursor: '' }],
  'secrets.create': [
    { workspaceId: '00000000-0000-4000-8000-000000000001', secret: { name: 'bad name', value: 'v' } },
    { workspaceId: '00000000-0000-4000-8000-000000000001', secret: { name: 'OK' } },
  ],
  'secrets.update': [
    {
      workspaceId: '00000000-0000-4000-8000-000000000001',
      secretId: '00000000-0000-4000-8000-000000000001',
      changes: {},
    },
    {
      workspaceId: '00000000-0000-4000-8000-000000000001',
      secretId: '00000000-0000-4000-8000-000000000001',
      changes: { name: 'X' },
    },
  ],
  'secrets.delete': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', secretId: 'x' },
  ],
  'secrets.reveal': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', secretId: 'x' },
  ],
  'gateways.list': [{}, { workspaceId: '00000000-0000-4000-8000-000000000001', limit: 0 }],
  'gateways.revoke': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', gatewayId: 'x' },
  ],
  'gateways.linkThisComputer': [{}, { workspaceId: '00000000-0000-4000-8000-000000000001', code: 'abc' }],
  'transcripts.list': [{}, { workspaceId: '00000000-0000-4000-8000-000000000001', userId: 'x' }],
  'transcripts.read': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    {
      workspaceId: '00000000-0000-4000-8000-000000000001',
      conversationId: '00000000-0000-4000-8000-000000000001',
      after: -1,
    },
  ],
  'transcripts.delete': [
    { workspaceId: '00000000-0000-4000-8000-000000000001' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', conversationId: 'x' },
  ],
  'audit.list': [
    {},
    { workspaceId: '00000000-0000-4000-8000-000000000001', from: 'yesterday' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', action: 'Bad Action' },
  ],
  'audit.export': [
    { workspaceId: '00000000-0000-4000-8000-000000000001', format: 'xml' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', format: 'csv', from: 'yesterday' },
    { workspaceId: '00000000-0000-4000-8000-000000000001', format: 'csv', path: '/etc/cron.d/x' },
  ],
  'gateways.unlinkThisComputer': [{}, { workspaceId: 'x' }],
};

describe('input validation', () => {
  it('has refused inputs for every command of the registry', () => {
    expect(Object.keys(BAD_INPUTS).sort()).toEqual([...DESKTOP_COMMANDS].sort());
  });

  it.each(
    Object.entries(BAD_INPUTS).flatMap(([command, inputs]) =>
      inputs.map((input) => [command, input] as const),
    ),
  )('%s refuses %j with VALIDATION_FAILED naming the field', async (command, input) => {
    const answer = await t.call(command, input);
    expect(answer.status).toBe(400);
    const { error } = ErrorEnvelope.parse(answer.body);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details?.issues?.length).toBeGreaterThan(0);
  });

  it('refuses a body that is not JSON, and one that is not sent as JSON', async () => {
    const notJson = await raw({
      path: '/ipc/settings.get',
      method: 'POST',
      headers: { host: `127.0.0.1:${t.desktop.port}`, 'content-type': 'application/json', ...secret() },
      body: '{',
    });
    expect(codeOf(JSON.parse(notJson.body))).toBe('MALFORMED_JSON');
    const text = await raw({
      path: '/ipc/settings.get',
      method: 'POST',
      headers: { host: `127.0.0.1:${t.desktop.port}`, 'content-type': 'text/plain', ...secret() },
      body: '{}',
    });
    expect(text.status).toBe(415);
  });
});

describe('the pages', () => {
  it('carry the strict CSP and the other security headers, errors too', async () => {
    for (const path of ['/', '/no-such-page']) {
      const response = await fetch(`${t.desktop.url}${path}`);
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'self'; connect-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      );
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('say how to build the UI when it is not built', async () => {
    const page = await (await fetch(`${t.desktop.url}/`)).text();
    expect(page).toContain('not built');
    expect(page).toContain('pnpm --filter @multiclaw/desktop build');
    expect(page).not.toMatch(/<script|style=/);
  });
});

describe('the event stream', () => {
  const wsUrl = () => `${t.desktop.url.replace('http', 'ws')}/ipc/events`;
  const closeOf = (ws: WebSocket) =>
    new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const send = (ws: WebSocket, payload: unknown, type = 'auth.secret') =>
    ws.once('open', () => ws.send(JSON.stringify({ v: WS_PROTOCOL_VERSION, type, payload })));

  it('opens with the secret in the first frame and says ready', async () => {
    const events = await openEvents(t.desktop);
    expect(events.events[0]?.type).toBe('events.ready');
    events.close();
  });

  it('closes 4401 on a wrong secret', async () => {
    const ws = new WebSocket(wsUrl());
    send(ws, { secret: 'A'.repeat(43) });
    expect(await closeOf(ws)).toBe(4401);
  });

  it('does not take the secret from the URL: the socket still has to authenticate, or it closes', async () => {
    const ws = new WebSocket(`${wsUrl()}?secret=${t.desktop.secretOf('main')}`);
    send(ws, { hello: 1 }, 'events.subscribe');
    expect(await closeOf(ws)).toBe(4400);
  });

  it('refuses the upgrade from a foreign Origin with 403', async () => {
    const ws = new WebSocket(wsUrl(), { origin: 'https://evil.example' });
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(403);
  });

  it('refuses the upgrade for a foreign Host with 403', async () => {
    const ws = new WebSocket(wsUrl(), { headers: { host: 'evil.example' } });
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(403);
  });
});

describe('the log', () => {
  it('never holds a window secret, though every call above carried one', () => {
    expect(t.logs.lines.some((line) => line.msg === 'incoming request')).toBe(true);
    for (const window of ['main', 'chat'])
      expect(t.logs.raw.join('')).not.toContain(t.desktop.secretOf(window));
  });
});

describe('event stream limits', () => {
  it('refuses more than MAX_EVENT_STREAMS sockets at once with 503, and takes new ones once they close', async () => {
    const url = `${t.desktop.url.replace('http', 'ws')}/ipc/events`;
    const open = await Promise.all(
      Array.from(
        { length: MAX_EVENT_STREAMS },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(url);
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    const refused = new WebSocket(url);
    const status = await new Promise<number>((resolve) =>
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(503);
    await Promise.all(
      open.map(
        (ws) =>
          new Promise((resolve) => {
            ws.once('close', resolve);
            ws.close();
          }),
      ),
    );
    const events = await openEvents(t.desktop);
    events.close();
  });
});
