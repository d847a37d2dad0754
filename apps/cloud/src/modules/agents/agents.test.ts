import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, ErrorEnvelope, Page } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';

const PASSWORD = 'correct horse battery staple 7';
const SAME_ID = '0b6f3a2e-7c1d-4e8a-9f00-1234567890ab';
const clock = manualClock('2026-11-24T12:00:00Z');

let ctx: Awaited<ReturnType<typeof createTestApp>>;
type User = TestUser;
let owner: User;
let member: User;
let stranger: User;

beforeAll(async () => {
  ctx = await createTestApp({
    now: clock.now,
    env: { AUTH_RATE_LIMIT_MAX: '10000' },
  });
  [owner, member, stranger] = await Promise.all([signUp(), signUp(), signUp()]);
});
afterAll(async () => {
  await ctx?.close();
});

const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.7',
  userAgent: 'agents-test/1.0',
  password: PASSWORD,
});

/** A secret row (dummy ciphertext: the vault comes later) so secretIds can be validated. */
async function secret(workspaceId: string): Promise<string> {
  await ctx.app.db.workspaceDataKey.upsert({
    where: { workspaceId_version: { workspaceId, version: 1 } },
    create: {
      workspaceId,
      version: 1,
      wrappedKey: new Uint8Array(48),
      nonce: new Uint8Array(12),
      masterKeyVersion: 1,
    },
    update: {},
  });
  const created = await ctx.app.db.secret.create({
    data: {
      id: randomUUID(),
      workspaceId,
      name: `secret-${randomBytes(3).toString('hex')}`,
      ciphertext: new Uint8Array(32),
      nonce: new Uint8Array(12),
      dataKeyVersion: 1,
      masterKeyVersion: 1,
    },
  });
  return created.id;
}

const configVersion = async (workspaceId: string) =>
  (await ctx.app.db.workspace.findUniqueOrThrow({ where: { id: workspaceId } })).configVersion;

const codeOf = (response: LightMyRequestResponse) => ErrorEnvelope.parse(response.json()).error.code;
const issuesOf = (response: LightMyRequestResponse) =>
  ErrorEnvelope.parse(response.json()).error.details?.issues ?? [];

const validAgent = (overrides: Record<string, unknown> = {}) => ({
  name: `agent-${randomBytes(3).toString('hex')}`,
  provider: 'anthropic',
  model: 'claude-sonnet-4',
  ...overrides,
});

async function createAgent(workspaceId: string, user: User, body: Record<string, unknown> = validAgent()) {
  const response = await send({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/agents`,
    token: user.token,
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return Agent.parse(response.json());
}

describe('owner CRUD', () => {
  it('creates, reads, lists, updates and deletes, bumping versions and configVersion each change', async () => {
    const wid = await workspace([owner]);
    const secretId = await secret(wid);
    expect(await configVersion(wid)).toBe(0);

    const created = await createAgent(wid, owner, {
      name: '  Support bot  ',
      description: 'Answers tickets',
      provider: 'openai',
      model: 'gpt-4.1',
      systemPrompt: 'You are helpful.',
      params: { temperature: 0.2, maxTokens: 1000, topP: 0.9 },
      tools: ['web-search', 'fs_read'],
      secretIds: [secretId],
    });
    expect(created).toMatchObject({
      name: 'Support bot',
      description: 'Answers tickets',
      provider: 'openai',
      model: 'gpt-4.1',
      systemPrompt: 'You are helpful.',
      params: { temperature: 0.2, maxTokens: 1000, topP: 0.9 },
      tools: ['web-search', 'fs_read'],
      secretIds: [secretId],
      version: 1,
      createdAt: clock.now().toISOString(),
    });
    expect(await configVersion(wid)).toBe(1);

    const read = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/agents/${created.id}`,
      token: owner.token,
    });
    expect(read.statusCode).toBe(200);
    expect(Agent.parse(read.json())).toEqual(created);

    clock.advanceMs(1000);
    const patched = await send({
      method: 'PATCH',
      url: `/v1/workspaces/${wid}/agents/${created.id}`,
      token: owner.token,
      payload: { model: 'gpt-4.1-mini', params: { temperature: 1 }, secretIds: [], expectedVersion: 1 },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const updated = Agent.parse(patched.json());
    expect(updated).toMatchObject({
      id: created.id,
      name: 'Support bot',
      model: 'gpt-4.1-mini',
      params: { temperature: 1 },
      tools: ['web-search', 'fs_read'],
      secretIds: [],
      version: 2,
      createdAt: created.createdAt,
      updatedAt: clock.now().toISOString(),
    });
    expect(await configVersion(wid)).toBe(2);

    const again = await send({
      method: 'PATCH',
      url: `/v1/workspaces/${wid}/agents/${created.id}`,
      token: owner.token,
      payload: { description: null, secretIds: [secretId] },
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(Agent.parse(again.json())).toMatchObject({ description: null, secretIds: [secretId], version: 3 });
    expect(await configVersion(wid)).toBe(3);

    const list = await send({ method: 'GET', url: `/v1/workspaces/${wid}/agents`, token: owner.token });
    expect(list.statusCode).toBe(200);
    const page = Page(Agent).parse(list.json());
    expect(page.items.map((agent) => [agent.id, agent.version])).toEqual([[created.id, 3]]);
    expect(page.nextCursor).toBeNull();

    const deleted = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/agents/${created.id}`,
      token: owner.token,
    });
    expect(deleted.statusCode).toBe(204);
    expect(await configVersion(wid)).toBe(4);
    expect(await ctx.app.db.secretGrant.count({ where: { agentId: created.id } })).toBe(0);

    const gone = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/agents/${created.id}`,
      token: owner.token,
    });
    expect(gone.statusCode).toBe(404);
    expect(codeOf(gone)).toBe('NOT_FOUND');
    const deleteAgain = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/agents/${created.id}`,
      token: owner.token,
    });
    expect(deleteAgain.statusCode).toBe(404);
    expect(await configVersion(wid)).toBe(4);
  });

  it('defaults the optional fields', async () => {
    const wid = await workspace([owner]);
    const created = await createAgent(wid, owner, {
      name: 'Minimal',
      provider: 'openai-compatible',
      model: 'llama',
    });
    expect(created).toMatchObject({
      description: null,
      systemPrompt: '',
      params: {},
      tools: [],
      secretIds: [],
      version: 1,
    });
  });
});

describe('roles', () => {
  it('lets a member list and read but not create, update or delete', async () => {
    const wid = await workspace([owner], [member]);
    const agent = await createAgent(wid, owner);
    const base = `/v1/workspaces/${wid}/agents`;

    const list = await send({ method: 'GET', url: base, token: member.token });
    expect(list.statusCode).toBe(200);
    expect(
      Page(Agent)
        .parse(list.json())
        .items.map((item) => item.id),
    ).toEqual([agent.id]);
    const read = await send({ method: 'GET', url: `${base}/${agent.id}`, token: member.token });
    expect(read.statusCode).toBe(200);
    expect(Agent.parse(read.json()).id).toBe(agent.id);

    const denied = await Promise.all([
      send({ method: 'POST', url: base, token: member.token, payload: validAgent() }),
      send({ method: 'PATCH', url: `${base}/${agent.id}`, token: member.token, payload: { model: 'x' } }),
      send({ method: 'DELETE', url: `${base}/${agent.id}`, token: member.token }),
    ]);
    for (const response of denied) {
      expect(response.statusCode, response.body).toBe(403);
      expect(codeOf(response)).toBe('FORBIDDEN');
    }
    const after = await ctx.app.db.agent.findMany({ where: { workspaceId: wid } });
    expect(after.map((row) => [row.id, row.model, row.version])).toEqual([[agent.id, agent.model, 1]]);
    expect(await configVersion(wid)).toBe(1);
  });

  it('answers 404 to a signed-in non-member on every route, and 401 to anonymous callers', async () => {
    const wid = await workspace([owner]);
    const agent = await createAgent(wid, owner);
    const base = `/v1/workspaces/${wid}/agents`;
    const requests: InjectOptions[] = [
      { method: 'GET', url: base },
      { method: 'POST', url: base, payload: validAgent() },
      { method: 'GET', url: `${base}/${agent.id}` },
      { method: 'PATCH', url: `${base}/${agent.id}`, payload: { model: 'x' } },
      { method: 'DELETE', url: `${base}/${agent.id}` },
    ];
    for (const request of requests) {
      const response = await send({ ...request, token: stranger.token });
      expect(response.statusCode, `${request.method} ${request.url}`).toBe(404);
      expect(codeOf(response)).toBe('NOT_FOUND');
      const anonymous = await send(request);
      expect(anonymous.statusCode, `${request.method} ${request.url}`).toBe(401);
    }
    expect(await ctx.app.db.agent.count({ where: { workspaceId: wid } })).toBe(1);
    expect(await configVersion(wid)).toBe(1);
  });

  it("answers 404 for another workspace's agent, even to an owner of both", async () => {
    const a = await workspace([owner]);
    const b = await workspace([owner]);
    const inB = await createAgent(b, owner);
    const url = `/v1/workspaces/${a}/agents/${inB.id}`;
    for (const request of [
      { method: 'GET' as const, url },
      { method: 'PATCH' as const, url, payload: { model: 'hijacked' } },
      { method: 'DELETE' as const, url },
    ]) {
      const response = await send({ ...request, token: owner.token });
      expect(response.statusCode, request.method).toBe(404);
      expect(codeOf(response)).toBe('NOT_FOUND');
    }
    const list = await send({ method: 'GET', url: `/v1/workspaces/${a}/agents`, token: owner.token });
    expect(Page(Agent).parse(list.json()).items).toEqual([]);
    const row = await ctx.app.db.agent.findUniqueOrThrow({ where: { id: inB.id } });
    expect([row.model, row.version]).toEqual([inB.model, 1]);
    expect([await configVersion(a), await configVersion(b)]).toEqual([0, 1]);
  });
});

describe('validation', () => {
  const long = (n: number, ch = 'a') => ch.repeat(n);
  const tooManyTools = Array.from({ length: 65 }, (_, i) => `tool-${i}`);
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['missing name', { name: undefined }, 'body.name', /./],
    ['empty name', { name: '' }, 'body.name', /must not be empty/],
    ['blank name', { name: '   ' }, 'body.name', /must not be empty/],
    ['name too long', { name: long(101) }, 'body.name', /at most 100/],
    ['unknown provider', { provider: 'gemini' }, 'body.provider', /Unknown provider.*openai, anthropic/],
    ['missing provider', { provider: undefined }, 'body.provider', /Unknown provider/],
    ['empty model', { model: ' ' }, 'body.model', /must not be empty/],
    ['model too long', { model: long(201) }, 'body.model', /at most 200/],
    ['prompt too long', { systemPrompt: long(32 * 1024 + 1) }, 'body.systemPrompt', /32 KiB/],
    ['prompt too long in UTF-8 bytes', { systemPrompt: long(16_385, 'é') }, 'body.systemPrompt', /32 KiB/],
    ['description too long', { description: long(1001) }, 'body.description', /at most 1000/],
    ['temperature above 2', { params: { temperature: 2.5 } }, 'body.params.temperature', /between 0 and 2/],
    ['temperature below 0', { params: { temperature: -0.1 } }, 'body.params.temperature', /between 0 and 2/],
    ['maxTokens 0', { params: { maxTokens: 0 } }, 'body.params.maxTokens', /between 1 and 200000/],
    [
      'maxTokens too big',
      { params: { maxTokens: 200_001 } },
      'body.params.maxTokens',
      /between 1 and 200000/,
    ],
    ['maxTokens fractional', { params: { maxTokens: 1.5 } }, 'body.params.maxTokens', /integer/],
    ['topP above 1', { params: { topP: 1.5 } }, 'body.params.topP', /between 0 and 1/],
    ['unknown param', { params: { frequencyPenalty: 1 } }, 'body.params', /frequencyPenalty/],
    ['params not an object', { params: [1] }, 'body.params', /must be an object/],
    ['tool not a slug', { tools: ['Web Search'] }, 'body.tools.0', /lowercase slugs/],
    ['duplicate tool', { tools: ['web', 'web'] }, 'body.tools.1', /Duplicate tools/],
    ['too many tools', { tools: tooManyTools }, 'body.tools', /At most 64 tools/],
    ['secret id not a uuid', { secretIds: ['nope'] }, 'body.secretIds.0', /./],
    ['duplicate secret id', { secretIds: [SAME_ID, SAME_ID] }, 'body.secretIds.1', /Duplicate secret ids/],
    ['unknown field', { colour: 'blue' }, 'body', /colour/],
  ];

  it.each(cases)('refuses %s on create (400, %s)', async (_label, overrides, path, message) => {
    const wid = await workspace([owner]);
    const response = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/agents`,
      token: owner.token,
      payload: validAgent(overrides),
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(codeOf(response)).toBe('VALIDATION_FAILED');
    const issue = issuesOf(response).find((candidate) => candidate.path === path);
    expect(issue, JSON.stringify(issuesOf(response))).toBeDefined();
    expect(issue?.message).toMatch(message);
    expect(await ctx.app.db.agent.count({ where: { workspaceId: wid } })).toBe(0);
    expect(await configVersion(wid)).toBe(0);
  });

  it('refuses secret ids that are not secrets of this workspace, naming each field path', async () => {
    const wid = await workspace([owner]);
    const other = await workspace([owner]);
    const mine = await secret(wid);
    const theirs = await secret(other);
    const response = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/agents`,
      token: owner.token,
      payload: validAgent({ secretIds: [mine, theirs, randomUUID()] }),
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(codeOf(response)).toBe('VALIDATION_FAILED');
    expect(issuesOf(response)).toEqual([
      { path: 'body.secretIds.1', message: 'No such secret in this workspace' },
      { path: 'body.secretIds.2', message: 'No such secret in this workspace' },
    ]);
    expect(await ctx.app.db.agent.count({ where: { workspaceId: wid } })).toBe(0);
    expect(await configVersion(wid)).toBe(0);

    const agent = await createAgent(wid, owner, validAgent({ secretIds: [mine] }));
    const patch = await send({
      method: 'PATCH',
      url: `/v1/workspaces/${wid}/agents/${agent.id}`,
      token: owner.token,
      payload: { secretIds: [theirs] },
    });
    expect(patch.statusCode).toBe(400);
    expect(issuesOf(patch)).toEqual([
      { path: 'body.secretIds.0', message: 'No such secret in this workspace' },
    ]);
    const row = await ctx.app.db.agent.findUniqueOrThrow({
      where: { id: agent.id },
      include: { secretGrants: true },
    });
    expect([row.version, row.secretGrants.map((grant) => grant.secretId)]).toEqual([1, [mine]]);
  });

  it('refuses invalid updates without changing anything', async () => {
    const wid = await workspace([owner]);
    const agent = await createAgent(wid, owner);
    const url = `/v1/workspaces/${wid}/agents/${agent.id}`;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'body'],
      [{ expectedVersion: 1 }, 'body'],
      [{ name: '' }, 'body.name'],
      [{ provider: 'gemini' }, 'body.provider'],
      [{ params: { temperature: 3 } }, 'body.params.temperature'],
      [{ expectedVersion: 0, model: 'x' }, 'body.expectedVersion'],
    ];
    for (const [payload, path] of cases) {
      const response = await send({ method: 'PATCH', url, token: owner.token, payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(issuesOf(response).map((issue) => issue.path)).toContain(path);
    }
    const row = await ctx.app.db.agent.findUniqueOrThrow({ where: { id: agent.id } });
    expect(row.version).toBe(1);
    expect(await configVersion(wid)).toBe(1);
  });

  it('refuses bad path ids and pagination parameters', async () => {
    const wid = await workspace([owner]);
    const badAid = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/agents/not-a-uuid`,
      token: owner.token,
    });
    expect(badAid.statusCode).toBe(400);
    expect(issuesOf(badAid).map((issue) => issue.path)).toEqual(['params.aid']);
    const badCursor = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/agents?cursor=garbage`,
      token: owner.token,
    });
    expect(badCursor.statusCode).toBe(400);
    expect(issuesOf(badCursor).map((issue) => issue.path)).toEqual(['query.cursor']);
    const badLimit = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/agents?limit=0`,
      token: owner.token,
    });
    expect(badLimit.statusCode).toBe(400);
    expect(issuesOf(badLimit).map((issue) => issue.path)).toEqual(['query.limit']);
  });
});

describe('conflicts', () => {
  it('refuses a duplicate name in the workspace (409), but not in another workspace', async () => {
    const wid = await workspace([owner]);
    const first = await createAgent(wid, owner, validAgent({ name: 'Dup' }));
    const second = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/agents`,
      token: owner.token,
      payload: validAgent({ name: ' Dup ' }),
    });
    expect(second.statusCode).toBe(409);
    expect(codeOf(second)).toBe('AGENT_NAME_TAKEN');
    expect(await configVersion(wid)).toBe(1);

    const other = await createAgent(wid, owner, validAgent({ name: 'Other' }));
    const rename = await send({
      method: 'PATCH',
      url: `/v1/workspaces/${wid}/agents/${other.id}`,
      token: owner.token,
      payload: { name: 'Dup' },
    });
    expect(rename.statusCode).toBe(409);
    expect(codeOf(rename)).toBe('AGENT_NAME_TAKEN');
    const rows = await ctx.app.db.agent.findMany({ where: { workspaceId: wid }, orderBy: { name: 'asc' } });
    expect(rows.map((row) => [row.id, row.name, row.version])).toEqual([
      [first.id, 'Dup', 1],
      [other.id, 'Other', 1],
    ]);
    expect(await configVersion(wid)).toBe(2);

    const elsewhere = await workspace([owner]);
    await createAgent(elsewhere, owner, validAgent({ name: 'Dup' }));
  });

  it('refuses an update whose expectedVersion is not the current version (409)', async () => {
    const wid = await workspace([owner]);
    const agent = await createAgent(wid, owner);
    const url = `/v1/workspaces/${wid}/agents/${agent.id}`;
    const first = await send({
      method: 'PATCH',
      url,
      token: owner.token,
      payload: { model: 'm2', expectedVersion: 1 },
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(Agent.parse(first.json()).version).toBe(2);

    const stale = await send({
      method: 'PATCH',
      url,
      token: owner.token,
      payload: { model: 'm3', expectedVersion: 1 },
    });
    expect(stale.statusCode).toBe(409);
    expect(codeOf(stale)).toBe('AGENT_VERSION_CONFLICT');
    const row = await ctx.app.db.agent.findUniqueOrThrow({ where: { id: agent.id } });
    expect([row.model, row.version]).toEqual(['m2', 2]);
    expect(await configVersion(wid)).toBe(2);
  });
});

describe('pagination', () => {
  it('pages 7 agents by 3 as 3 + 3 + 1 with no duplicates, in creation order', async () => {
    const wid = await workspace([owner], [member]);
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      // Some share a creation time: the id breaks ties.
      if (i % 2 === 0) clock.advanceMs(1000);
      created.push((await createAgent(wid, owner, validAgent({ name: `page-${i}` }))).id);
    }
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
      const response = await send({
        method: 'GET',
        url: `/v1/workspaces/${wid}/agents${query}`,
        token: member.token,
      });
      expect(response.statusCode, response.body).toBe(200);
      const page = Page(Agent).parse(response.json());
      pages.push(page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor && pages.length < 10);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    const all = pages.flat();
    expect(new Set(all).size).toBe(7);
    const rows = await ctx.app.db.agent.findMany({
      where: { workspaceId: wid },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    expect(all).toEqual(rows.map((row) => row.id));
    expect(new Set(all)).toEqual(new Set(created));
  });
});

describe('audit', () => {
  it('records created, updated and deleted with names and versions, never the prompt', async () => {
    const wid = await workspace([owner]);
    const secretId = await secret(wid);
    const prompt = `TOP-SECRET-PROMPT-${randomBytes(6).toString('hex')}`;
    const agent = await createAgent(
      wid,
      owner,
      validAgent({ name: 'Audited', systemPrompt: prompt, secretIds: [secretId] }),
    );
    const url = `/v1/workspaces/${wid}/agents/${agent.id}`;
    const patched = await send({
      method: 'PATCH',
      url,
      token: owner.token,
      payload: { name: 'Audited 2', systemPrompt: `${prompt} v2` },
    });
    expect(patched.statusCode).toBe(200);
    expect((await send({ method: 'DELETE', url, token: owner.token })).statusCode).toBe(204);

    const events = await ctx.app.db.auditEvent.findMany({
      where: { workspaceId: wid, targetType: 'agent' },
      orderBy: { seq: 'asc' },
    });
    expect(events.map((event) => [event.action, event.actorId, event.targetId, event.metadata])).toEqual([
      ['agent.created', owner.id, agent.id, { name: 'Audited', version: 1, configVersion: 1 }],
      [
        'agent.updated',
        owner.id,
        agent.id,
        {
          name: 'Audited 2',
          previousName: 'Audited',
          version: 2,
          configVersion: 2,
          fields: 'name,systemPrompt',
        },
      ],
      ['agent.deleted', owner.id, agent.id, { name: 'Audited 2', version: 2, configVersion: 3 }],
    ]);
    for (const event of events) {
      expect(event.ip).toBe('203.0.113.7');
      expect(event.userAgent).toBe('agents-test/1.0');
    }
    const serialised = JSON.stringify(events, (_key, value) =>
      typeof value === 'bigint' ? String(value) : value,
    );
    expect(serialised).not.toContain('TOP-SECRET-PROMPT');
    expect(serialised).not.toContain(secretId);
  });
});
