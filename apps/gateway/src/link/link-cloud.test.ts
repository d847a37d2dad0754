/**
 * The gateway end of the link against the REAL cloud (in this process, on its
 * own PostgreSQL database): link with a real code, the running gateway goes
 * online, holds the workspace agent and its granted secret, runs it against a
 * local OpenAI-wire model server with that secret as the bearer, survives a
 * cloud outage (the value stays in memory), comes back online, and drops
 * everything on revoke and on unlink.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrismaClient } from '@multiclaw/cloud';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeProvider, startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { cliInProcess } from '../../test/support/cli.js';
import { startTestCloud, type TestCloud } from '../../test/support/cloud.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { connectControlClient } from '../../test/support/ws-client.js';
import { signLinkAssertion } from './assertion.js';
import { generateDeviceKey, identityPaths, readLinkState } from './identity.js';

/** Generous: a loaded 2-core machine; the link itself needs about a second. */
const WITHIN = { timeout: 30_000, interval: 100 };

let cloud: TestCloud;
let model: FakeProvider;
const SECRET = `sk-workspace-${randomUUID()}`;

beforeAll(async () => {
  cloud = await startTestCloud();
  model = await startFakeOpenAI(streamReply(['From ', 'the ', 'workspace']), { apiKey: SECRET });
}, 120_000);
afterAll(async () => {
  await model?.close();
  await cloud?.drop();
});

/** A person with a workspace, one workspace agent on an OpenAI-compatible server, and its key granted to it. */
async function workspaceWithAgent() {
  const owner = await cloud.api.signUp();
  const wid = await cloud.api.workspace(owner.token);
  const agent = await cloud.api.agent(owner.token, wid, {
    name: 'Researcher',
    provider: 'openai-compatible',
    model: 'gpt-test',
    systemPrompt: 'Answer from the workspace.',
    params: { temperature: 0.3 },
  });
  await cloud.api.secret(owner.token, wid, { name: 'MODEL_KEY', value: SECRET, agentIds: [agent.id] });
  return { owner, wid, agent };
}

/** A running gateway whose own `openai-compatible` entry points at the local model server (no key of its own). */
async function gateway(): Promise<TestGateway & { env: NodeJS.ProcessEnv }> {
  const test = await startTestGateway({
    configure: (config) => ({
      ...config,
      gateway: { ...config.gateway, port: 18_789 },
      models: {
        providers: {
          'openai-compatible': { api: 'openai-completions', baseUrl: model.baseUrl, allowedAgents: [] },
        },
      },
    }),
  });
  // status reads the port from the config: point it at the one this gateway got.
  const configPath = join(test.stateDir, 'openclaw.json');
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  await writeFile(configPath, JSON.stringify({ ...config, gateway: { ...config.gateway, port: test.port } }));
  return {
    ...test,
    env: { OPENCLAW_STATE_DIR: test.stateDir, HOME: test.stateDir, PATH: process.env.PATH ?? '' },
  };
}

async function link(test: Awaited<ReturnType<typeof gateway>>, owner: { token: string }, wid: string) {
  const code = await cloud.api.enrollmentCode(owner.token, wid);
  const result = await cliInProcess(
    ['link', '--cloud', cloud.url, '--code', code, '--name', 'laptop'],
    test.env,
  );
  expect(result.code, result.stderr).toBe(0);
  const state = await readLinkState(identityPaths(test.stateDir));
  if (!state) throw new Error('no link state after link');
  return state;
}

const complete = (test: TestGateway, agentId: string) =>
  fetch(`${test.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...test.authHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ model: agentId, messages: [{ role: 'user', content: 'What do we know?' }] }),
  });

const modelIds = async (test: TestGateway) =>
  (
    (await (await fetch(`${test.url}/v1/models`, { headers: test.authHeaders })).json()) as {
      data: { id: string }[];
    }
  ).data.map((entry) => entry.id);

/** Every file under `dir`, read whole: where a secret must never be. */
async function everyFile(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map((entry) => readFile(join(entry.parentPath, entry.name), 'utf8')),
  );
  return texts.join('\n');
}

describe('the gateway linked to the real cloud', () => {
  it('links with a real code, goes online, serves the workspace agent with its granted secret, and drops it all on revoke', async () => {
    const { owner, wid, agent } = await workspaceWithAgent();
    const test = await gateway();
    try {
      expect(test.gateway.link.status().state).toBe('not linked');
      const state = await link(test, owner, wid);
      expect(state.workspaceId).toBe(wid);

      // The running gateway picks the link up by itself.
      await vi.waitFor(() => expect(test.gateway.link.status().state).toBe('online'), WITHIN);
      await vi.waitFor(() => expect(test.gateway.link.status().workspaceAgents).toBe(1), WITHIN);
      const status = await cliInProcess(['status', '--json'], test.env);
      expect(JSON.parse(status.stdout).link).toMatchObject({
        state: 'online',
        gatewayId: state.gatewayId,
        workspaceId: wid,
      });
      const doctor = JSON.parse((await cliInProcess(['doctor', '--json'], test.env)).stdout) as {
        checks: { name: string; ok: boolean; detail: string }[];
      };
      expect(doctor.checks.find((check) => check.name === 'cloud link')).toMatchObject({
        ok: true,
        detail: expect.stringContaining('the cloud answers'),
      });
      expect((await cloud.api.gateways(owner.token, wid)).items).toEqual([
        expect.objectContaining({ id: state.gatewayId, online: true }),
      ]);

      // Beside local agents, under its cloud id, read-only.
      const { client } = await connectControlClient(test.url, test.token);
      const listed = await client.request('agents.list');
      expect(
        listed.ok && (listed.payload as { agents: { id: string }[] }).agents.map((entry) => entry.id),
      ).toContain(agent.id);
      const update = await client.request('agents.update', { agentId: agent.id, name: 'Mine now' });
      expect(update.ok).toBe(false);
      expect(!update.ok && update.error.message).toMatch(/read-only/);
      client.close();
      expect(await modelIds(test)).toContain(agent.id);

      // A change in the workspace reaches the running gateway by itself.
      const second = await cloud.api.agent(owner.token, wid, {
        name: 'Second',
        provider: 'openai',
        model: 'gpt-test',
      });
      await vi.waitFor(async () => expect(await modelIds(test)).toContain(second.id), WITHIN);

      // A run: the local model server gets the granted secret as its bearer, and the workspace's prompt.
      await vi.waitFor(async () => expect((await complete(test, agent.id)).status).toBe(200), WITHIN);
      const seen = model.requests.at(-1);
      expect(seen?.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(JSON.stringify(seen?.body)).toContain('Answer from the workspace.');
      expect(seen?.body).toMatchObject({ model: 'gpt-test', temperature: 0.3 });
      // Never on the gateway's disk, never in its logs.
      expect(await everyFile(test.stateDir)).not.toContain(SECRET);
      expect(JSON.stringify(test.logs)).not.toContain(SECRET);

      // Revoked in the cloud: the gateway hears it within seconds and forgets the agent and its value.
      await cloud.api.revokeGateway(owner.token, wid, state.gatewayId);
      await vi.waitFor(() => expect(test.gateway.link.status().state).toBe('revoked'), WITHIN);
      expect(test.gateway.link.status().workspaceAgents).toBe(0);
      expect(await modelIds(test)).not.toContain(agent.id);
      const refused = await complete(test, agent.id);
      expect(refused.status).toBe(503);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.message).toMatch(/cannot run on this gateway now.*revoked/);
      expect(JSON.stringify(body)).toContain('GATEWAY_WORKSPACE_AGENT_UNAVAILABLE');
      // Remembered: a restart does not knock again, and status says so without the daemon.
      await vi.waitFor(
        async () => expect((await readLinkState(identityPaths(test.stateDir)))?.revokedAt).toBeDefined(),
        WITHIN,
      );
      const logLines = test.logs
        .map((line) => String(line.msg))
        .filter((line) => line.startsWith('cloud link '));
      expect(logLines.some((line) => line.startsWith('cloud link online'))).toBe(true);
      expect(logLines.some((line) => line.startsWith('cloud link revoked'))).toBe(true);
    } finally {
      await test.close();
    }
  });

  it('links before any gateway runs: the gateway started later goes online with the workspace agent', async () => {
    const { owner, wid, agent } = await workspaceWithAgent();
    const stateDir = await mkdtemp(join(tmpdir(), 'mc-link-first-'));
    const env = { OPENCLAW_STATE_DIR: stateDir, HOME: stateDir, PATH: process.env.PATH ?? '' };
    const code = await cloud.api.enrollmentCode(owner.token, wid);
    const linked = await cliInProcess(['link', '--cloud', cloud.url, '--code', code], env);
    expect(linked.code, linked.stderr).toBe(0);
    expect(JSON.parse((await cliInProcess(['status', '--json'], env)).stdout).link).toMatchObject({
      state: 'offline',
      workspaceId: wid,
    });
    const again = await startTestGateway({ stateDir });
    try {
      await vi.waitFor(() => expect(again.gateway.link.status().state).toBe('online'), WITHIN);
      await vi.waitFor(async () => expect(await modelIds(again)).toContain(agent.id), WITHIN);
    } finally {
      await again.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('the end of the person’s membership closes the link for good: revoked, agents and values dropped', async () => {
    const { owner, wid, agent } = await workspaceWithAgent();
    const member = await cloud.api.signUp();
    // Joining by invitation is the cloud's own business (mailed codes): the membership is made directly.
    const db = createPrismaClient(cloud.databaseUrl);
    try {
      await db.membership.create({ data: { workspaceId: wid, userId: member.id, role: 'member' } });
    } finally {
      await db.$disconnect();
    }
    const test = await gateway();
    try {
      await link(test, member, wid);
      await vi.waitFor(() => expect(test.gateway.link.status().workspaceAgents).toBe(1), WITHIN);
      await cloud.api.removeMember(owner.token, wid, member.id);
      await vi.waitFor(() => expect(test.gateway.link.status().state).toBe('revoked'), WITHIN);
      expect(test.gateway.link.status().reason).toMatch(/membership/);
      expect(test.gateway.link.status().workspaceAgents).toBe(0);
      expect((await complete(test, agent.id)).status).toBe(503);
    } finally {
      await test.close();
    }
  });

  it('keeps running workspace agents through a cloud outage and is back online within seconds of the cloud', async () => {
    const { owner, wid, agent } = await workspaceWithAgent();
    const test = await gateway();
    try {
      await link(test, owner, wid);
      await vi.waitFor(() => expect(test.gateway.link.status().workspaceAgents).toBe(1), WITHIN);
      await vi.waitFor(async () => expect((await complete(test, agent.id)).status).toBe(200), WITHIN);

      await cloud.stop();
      await vi.waitFor(() => expect(test.gateway.link.status().state).toBe('offline'), WITHIN);
      // The value is still held in memory for the link session: the run goes on.
      const during = await complete(test, agent.id);
      expect(during.status).toBe(200);
      expect(model.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);

      await cloud.start();
      await vi.waitFor(() => expect(test.gateway.link.status().state).toBe('online'), WITHIN);
    } finally {
      await test.close();
      await cloud.start();
    }
  });

  it('unlink revokes the gateway at the cloud (signed by its own key), drops the workspace agent at once and deletes the key', async () => {
    const { owner, wid, agent } = await workspaceWithAgent();
    const test = await gateway();
    try {
      const state = await link(test, owner, wid);
      await vi.waitFor(() => expect(test.gateway.link.status().workspaceAgents).toBe(1), WITHIN);
      // The self-revoke takes only the gateway's own signature: none, or another key's, is refused.
      const selfRevoke = (authorization?: string) =>
        fetch(`${cloud.url}/v1/gateway-link/self`, {
          method: 'DELETE',
          headers: authorization ? { authorization } : {},
        });
      expect((await selfRevoke()).status).toBe(401);
      const forged = await signLinkAssertion({
        privateKey: generateDeviceKey().privateKey,
        gatewayId: state.gatewayId,
        cloudUrl: cloud.url,
        now: new Date(),
      });
      expect((await selfRevoke(`Bearer ${forged.assertion}`)).status).toBe(401);
      expect((await cloud.api.gateways(owner.token, wid)).items[0]?.revokedAt).toBeNull();

      const result = await cliInProcess(['unlink'], test.env);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`unlinked from workspace ${wid}`);
      expect(result.stdout).not.toContain('The cloud was not told');
      expect((await cloud.api.gateways(owner.token, wid)).items[0]?.revokedAt).not.toBeNull();
      expect(await readdir(identityPaths(test.stateDir).dir)).toEqual([]);
      await vi.waitFor(() => expect(test.gateway.link.status().state).toBe('not linked'), WITHIN);
      expect(test.gateway.link.status().workspaceAgents).toBe(0);
      const refused = await complete(test, agent.id);
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/unlinked/);
    } finally {
      await test.close();
    }
  });

  it('a granted secret rotated, or its grant withdrawn, in the workspace reaches the running gateway within seconds', async () => {
    // A model server that takes any key and records the bearer it was given.
    const open = await startFakeOpenAI(streamReply(['ok']));
    const owner = await cloud.api.signUp();
    const wid = await cloud.api.workspace(owner.token);
    const agent = await cloud.api.agent(owner.token, wid, {
      name: 'Rotating',
      provider: 'openai-compatible',
      model: 'gpt-test',
    });
    const first = `sk-first-${randomUUID()}`;
    const secret = await cloud.api.secret(owner.token, wid, {
      name: 'MODEL_KEY',
      value: first,
      agentIds: [agent.id],
    });
    const test = await startTestGateway({
      configure: (config) => ({
        ...config,
        models: {
          providers: {
            'openai-compatible': { api: 'openai-completions', baseUrl: open.baseUrl, allowedAgents: [] },
          },
        },
      }),
    });
    const env = { OPENCLAW_STATE_DIR: test.stateDir, HOME: test.stateDir, PATH: process.env.PATH ?? '' };
    const put = async (body: Record<string, unknown>) => {
      const response = await fetch(`${cloud.url}/v1/workspaces/${wid}/secrets/${secret.id}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status, await response.clone().text()).toBe(200);
    };
    /** The bearer a run with the workspace agent presents now, or the refusal's message. */
    const bearerNow = async () => {
      const response = await complete(test, agent.id);
      if (response.status !== 200)
        return ((await response.json()) as { error: { message: string } }).error.message;
      await response.text();
      return open.requests.at(-1)?.headers.authorization;
    };
    try {
      const code = await cloud.api.enrollmentCode(owner.token, wid);
      expect((await cliInProcess(['link', '--cloud', cloud.url, '--code', code], env)).code).toBe(0);
      await vi.waitFor(async () => expect(await bearerNow()).toBe(`Bearer ${first}`), WITHIN);

      // Rotated: the agent itself is unchanged, the value is not.
      const second = `sk-second-${randomUUID()}`;
      const rotatedAt = Date.now();
      await put({ value: second });
      await vi.waitFor(async () => expect(await bearerNow()).toBe(`Bearer ${second}`), {
        timeout: 10_000,
        interval: 50,
      });
      console.info(`[secret push] rotation reached the gateway in ${Date.now() - rotatedAt} ms`);

      // The grant withdrawn: the value held in memory goes too.
      await put({ agentIds: [] });
      await vi.waitFor(async () => expect(await bearerNow()).toMatch(/no vault secret is granted to it/), {
        timeout: 10_000,
        interval: 50,
      });
      expect(test.gateway.link.status().workspaceAgents).toBe(1);
    } finally {
      await test.close();
      await open.close();
    }
  });
});
