import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { connectControlClient } from '../../test/support/ws-client.js';

/**
 * `agents.delete` over the real control socket takes the agent out of
 * everything in openclaw.json that names it: a later agent with the same id
 * must not inherit its opt-in to transcript sync (docs/data-residency.md).
 */

let test: TestGateway | undefined;
afterEach(async () => {
  await test?.close();
  test = undefined;
});

const PROVIDER = { api: 'openai-completions' as const, baseUrl: 'http://127.0.0.1:9/v1', allowedAgents: [] };

describe('agents.delete', () => {
  it('removes the agent from sync.agents, and keeps the other opted-in agents', async () => {
    test = await startTestGateway({
      configure: (config) => ({
        ...config,
        agents: {
          list: [
            { id: 'main', name: 'Main', model: 'local/llama' },
            { id: 'helper', name: 'Helper', model: 'local/llama' },
          ],
        },
        models: { providers: { local: PROVIDER } },
        sync: { agents: ['helper', 'main'] },
      }),
    });
    const { client } = await connectControlClient(test.url, test.token);
    try {
      const deleted = await client.request('agents.delete', { agentId: 'helper' });
      expect(deleted.ok, JSON.stringify(deleted)).toBe(true);
      const disk = JSON.parse(await readFile(join(test.stateDir, 'openclaw.json'), 'utf8'));
      expect(disk.sync).toEqual({ agents: ['main'] });
      expect(test.gateway.config.cached().sync?.agents).toEqual(['main']);

      // A new agent under the old id is not opted in.
      const created = await client.request('agents.create', { name: 'helper', model: 'local/llama' });
      expect(created.ok, JSON.stringify(created)).toBe(true);
      expect(test.gateway.config.cached().sync?.agents).toEqual(['main']);
    } finally {
      client.close();
    }
  }, 60_000);
});
