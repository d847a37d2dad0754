import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { startTestGateway, type TestGateway, withOneAgent } from '../../test/support/gateway.js';
import { connectControlClient } from '../../test/support/ws-client.js';

const KEY = `sk-test-${randomUUID()}`;
const PAIRING = randomUUID();
let gw: TestGateway;
let provider: FakeProvider;
afterEach(async () => {
  await gw.close();
  await provider.close();
});

/** The system message the provider received with request `index`. */
const systemSent = (index: number) =>
  (
    provider.requests[index]?.body as { messages: { role: string; content: string }[] } | undefined
  )?.messages.find((message) => message.role === 'system')?.content;

describe('a recording attached to an agent', () => {
  it("reaches the agent's model as a skill after its own prompt, on both APIs, and leaves once detached", async () => {
    provider = await startFakeOpenAI(streamReply(['ok']), { apiKey: KEY });
    gw = await startTestGateway({
      configure: (config) => {
        const next = withOneAgent(config, { baseUrl: provider.baseUrl, apiKey: KEY });
        return {
          ...next,
          agents: { list: next.agents.list.map((agent) => ({ ...agent, systemPrompt: 'Be brief.' })) },
        };
      },
    });
    const id = randomUUID();
    await gw.gateway.recordings.appendSteps(id, PAIRING, {
      name: 'Order milk',
      startedAt: 1_700_000_000_000,
      steps: [
        { kind: 'navigation', seq: 1, at: 1, tabId: 1, url: 'https://shop.example/', title: 'Shop' },
        {
          kind: 'click',
          seq: 2,
          at: 2,
          tabId: 1,
          url: 'https://shop.example/',
          selector: '#milk',
          role: 'button',
          text: 'Add milk',
        },
      ],
    });
    const { client } = await connectControlClient(gw.url, gw.token, undefined, {
      scopes: ['operator.admin'],
    });
    const refused = await client.request('multiclaw.recordings.attach', { id, agentId: 'nobody' });
    expect(refused.ok).toBe(false);
    const attached = await client.request('multiclaw.recordings.attach', { id, agentId: 'main' });
    expect(attached.ok).toBe(true);

    const run = await client.request('agent', {
      message: 'Buy milk',
      idempotencyKey: randomUUID(),
      agentId: 'main',
    });
    expect(run.ok).toBe(true);
    await expect.poll(() => provider.requests.length, { timeout: 20_000 }).toBe(1);
    expect(systemSent(0)).toBe(
      [
        'Be brief.',
        '',
        'The person showed you how they do these tasks in their browser. Each skill lists their steps in order.',
        '',
        '## Skill: Order milk',
        '1. Go to https://shop.example/ ("Shop")',
        '2. Click the button "Add milk" at `#milk`',
      ].join('\n'),
    );

    const completion = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...gw.authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'main', messages: [{ role: 'user', content: 'Again' }] }),
    });
    expect(completion.status).toBe(200);
    expect(systemSent(1)).toContain('## Skill: Order milk');

    expect((await client.request('multiclaw.recordings.detach', { id, agentId: 'main' })).ok).toBe(true);
    await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...gw.authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'main', messages: [{ role: 'user', content: 'Once more' }] }),
    });
    expect(systemSent(2)).toBe('Be brief.');
    client.close();
  });

  it('lists, shows, renames, exports and deletes from the CLI with --json', async () => {
    provider = await startFakeOpenAI(streamReply(['ok']), { apiKey: KEY });
    gw = await startTestGateway();
    await gw.gateway.config.update((config) => ({
      ...config,
      gateway: { ...config.gateway, port: gw.port },
    }));
    const id = randomUUID();
    await gw.gateway.recordings.appendSteps(id, PAIRING, {
      name: 'First',
      startedAt: 1_700_000_000_000,
      steps: [{ kind: 'navigation', seq: 1, at: 1, tabId: 1, url: 'https://a.example/', title: 'A' }],
    });
    const env = { OPENCLAW_STATE_DIR: gw.stateDir, HOME: gw.stateDir };
    const run = async (args: string[]) => {
      const { runCli } = await import('../cli/main.js');
      let out = '';
      const write = process.stdout.write.bind(process.stdout);
      const writeErr = process.stderr.write.bind(process.stderr);
      process.stdout.write = ((chunk: string) => {
        out += chunk;
        return true;
      }) as typeof process.stdout.write;
      process.stderr.write = (() => true) as typeof process.stderr.write;
      try {
        return { code: await runCli(args, env), out };
      } finally {
        process.stdout.write = write;
        process.stderr.write = writeErr;
      }
    };
    const listed = await run(['recordings', 'list', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out).items).toMatchObject([{ id, name: 'First', stepCount: 1 }]);
    expect((await run(['recordings', 'rename', id, 'Renamed'])).code).toBe(0);
    const shown = await run(['recordings', 'show', id, '--json']);
    expect(JSON.parse(shown.out).recording).toMatchObject({
      id,
      name: 'Renamed',
      steps: [{ kind: 'navigation' }],
    });
    const exported = await run(['recordings', 'export', id]);
    expect(JSON.parse(exported.out)).toMatchObject({ format: 'multiclaw.recording/1', recording: { id } });
    expect(JSON.parse(exported.out).recording).not.toHaveProperty('pairingId');
    expect((await run(['recordings', 'delete', id])).code).toBe(0);
    expect((await run(['recordings', 'show', id, '--json'])).code).toBe(1);
    expect(JSON.parse((await run(['recordings', 'list', '--json'])).out).items).toEqual([]);
  });
});
