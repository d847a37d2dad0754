import { randomUUID } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DesktopCommand, DesktopCommandOutput, ErrorEnvelope } from '@multiclaw/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';
import { EXTENSION_ORIGIN, extensionClient } from '../../test/support/extension.js';

/**
 * Recordings and the extension's pairing from the desktop, against a real
 * gateway: a code from the host pairs an "extension" over the gateway's real
 * HTTP route, its steps arrive as the extension sends them, and the person
 * lists, reads, renames, attaches, exports, unpairs and deletes through the
 * host's commands. A chat window may do none of it.
 */
let t: TestDesktop;
let extension: ReturnType<typeof extensionClient>;

async function ok<C extends DesktopCommand>(
  command: C,
  input: unknown = {},
): Promise<DesktopCommandOutput<C>> {
  const answer = await t.call(command, input);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as DesktopCommandOutput<C>;
}

const click = (seq: number) => ({
  kind: 'click',
  seq,
  at: 1_700_000_000_000 + seq,
  tabId: 1,
  url: 'http://127.0.0.1/shop',
  selector: `#step-${seq}`,
  role: 'button',
  text: `Step ${seq}`,
});

beforeAll(async () => {
  t = await startTestDesktop({
    configure: (config) => ({
      ...config,
      models: {
        providers: {
          openai: { api: 'openai-completions', baseUrl: 'http://127.0.0.1:9/v1', allowedAgents: [] },
        },
      },
      agents: { ...config.agents, list: [{ id: 'helper', name: 'Helper', model: 'openai/gpt-test' }] },
    }),
  });
  extension = extensionClient(`http://127.0.0.1:${t.gateway?.port}`);
});
afterAll(() => t.close());

describe('recordings and the extension from the desktop', () => {
  it('pairs with a code from the host, then lists, reads, renames, attaches, exports and deletes what it recorded', async () => {
    const { code } = await ok('extension.pairingCode');
    const { status, token = '' } = await extension.pair(code);
    expect(status).toBe(200);
    expect((await ok('extension.list')).items.map((item) => item.origin)).toEqual([EXTENSION_ORIGIN]);

    const recordingId = randomUUID();
    const sent = await extension.append(token, recordingId, 'Buy a book', [click(1), click(2)]);
    expect(sent.status, await sent.clone().text()).toBe(200);

    expect((await ok('recordings.list')).items).toMatchObject([
      { id: recordingId, name: 'Buy a book', stepCount: 2 },
    ]);
    expect((await ok('recordings.get', { id: recordingId })).recording.steps.map((step) => step.seq)).toEqual(
      [1, 2],
    );
    expect((await ok('recordings.rename', { id: recordingId, name: 'Buy two books' })).recording.name).toBe(
      'Buy two books',
    );
    expect(
      (await ok('recordings.attach', { id: recordingId, agentId: 'helper' })).recording.agentIds,
    ).toEqual(['helper']);
    const unknownAgent = await t.call('recordings.attach', { id: recordingId, agentId: 'nobody' });
    expect(unknownAgent.status).toBeGreaterThanOrEqual(400);
    expect(
      (await ok('recordings.detach', { id: recordingId, agentId: 'helper' })).recording.agentIds,
    ).toEqual([]);

    await mkdir(join(t.openclawDir, '..', 'Downloads'), { recursive: true });
    const { path } = await ok('recordings.export', { id: recordingId });
    expect(dirname(path)).toBe(join(t.openclawDir, '..', 'Downloads'));
    expect(path).toMatch(/buy-two-books-[0-9a-f]{8}\.multiclaw-recording\.json$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const exported = JSON.parse(await readFile(path, 'utf8'));
    expect(exported).toMatchObject({ format: 'multiclaw.recording/1', recording: { id: recordingId } });
    expect(exported.recording.pairingId).toBeUndefined();

    // Unpair: the token stops working at once; what was recorded stays.
    const [pairing] = (await ok('extension.list')).items;
    expect(await ok('extension.unpair', { id: pairing?.id })).toEqual({ revoked: true });
    const refused = await extension.append(token, recordingId, 'Buy two books', [click(3)]);
    expect(refused.status).toBe(401);
    expect((await ok('extension.list')).items).toEqual([]);

    expect(await ok('recordings.delete', { id: recordingId })).toEqual({ deleted: true });
    expect((await ok('recordings.list')).items).toEqual([]);
    const gone = await t.call('recordings.get', { id: recordingId });
    expect(gone.status).toBe(404);
  });

  it("is the main window's alone: a chat window gets no code and sees no recording", async () => {
    for (const command of [
      'extension.pairingCode',
      'extension.list',
      'recordings.list',
      'recordings.export',
    ]) {
      const denied = await t.call(command, command === 'recordings.export' ? { id: randomUUID() } : {}, {
        window: 'chat',
      });
      expect(denied.status).toBe(403);
      expect((denied.body as ErrorEnvelope).error.code).toBe('DESKTOP_COMMAND_DENIED');
    }
  });
});
