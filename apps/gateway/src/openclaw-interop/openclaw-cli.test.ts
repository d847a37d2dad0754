import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type FakeProvider,
  type RecordedRequest,
  startFakeOpenAI,
  streamReply,
} from '../../test/fake-providers/index.js';
import { startTestGateway, type TestGateway, withOneAgent } from '../../test/support/gateway.js';
import {
  type AcpBridge,
  ensureOpenClaw,
  isolatedOpenClawHome,
  type OpenClawHome,
  type OpenClawPeer,
  openclaw,
  spawnOpenClawAcp,
} from '../../test/support/openclaw-peer.js';
import { connectControlClient } from '../../test/support/ws-client.js';

/**
 * OpenClaw 2026.9.6's own CLI as the client of our gateway: `gateway health`,
 * `health`, `gateway call`, `agent` and the `acp` bridge, each run as a real
 * process against a real gateway whose agent `main` answers from a local
 * fake OpenAI server. The fake model repeats the last word of the user's
 * message, so every reply proves which message reached the model.
 */

const KEY = `sk-test-${randomUUID()}`;
/** A CLI one-shot takes 2–3 s on an idle machine; a loaded 2-core box can take ten times that. */
const CLI_MS = 90_000;

type ChatMessage = { role: string; content: string | { type: string; text?: string }[] };
type HistoryMessage = { role: string; content: string | { type: string; text: string }[] };

function lastUserWord(request: RecordedRequest): string {
  const messages = (request.body as { messages?: ChatMessage[] }).messages ?? [];
  const last = messages.findLast((message) => message.role === 'user');
  const text =
    typeof last?.content === 'string'
      ? last.content
      : (last?.content ?? []).map((part) => part.text ?? '').join(' ');
  return text.trim().split(/\s+/).pop() ?? '';
}

const replyTo = (word: string) => `The fake model heard ${word}.`;
const marker = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;
const textOf = (message: HistoryMessage) =>
  typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join('');

let peer: OpenClawPeer;
let provider: FakeProvider;
let test: TestGateway;
let home: OpenClawHome;
let wsUrl: string;
/** The conversation made before the tests, in agent:main:main: what the read commands must show. */
const seedWord = marker('seed');
const seed = { word: seedWord, message: `Please remember ${seedWord}` };

beforeAll(async () => {
  peer = await ensureOpenClaw();
}, 900_000);

beforeAll(async () => {
  provider = await startFakeOpenAI(
    (request) => {
      const word = lastUserWord(request);
      return streamReply(['The fake model', ' heard ', word, '.']);
    },
    { apiKey: KEY },
  );
  test = await startTestGateway({
    configure: (config) => withOneAgent(config, { baseUrl: provider.baseUrl, apiKey: KEY }),
  });
  wsUrl = `ws://127.0.0.1:${test.port}`;
  home = await isolatedOpenClawHome();

  // The seed conversation goes through our own client: the read commands below must not depend on `agent`.
  const { client } = await connectControlClient(test.url, test.token);
  try {
    const sent = await client.request('chat.send', {
      sessionKey: 'main',
      message: seed.message,
      idempotencyKey: randomUUID(),
    });
    if (!sent.ok) throw new Error(`seeding failed: ${JSON.stringify(sent.error)}`);
    const runId = (sent.payload as { runId: string }).runId;
    const final = await client.nextEvent(
      (event) =>
        event.event === 'chat' &&
        (event.payload as { runId?: string }).runId === runId &&
        ['final', 'error', 'aborted'].includes((event.payload as { state: string }).state),
      60_000,
    );
    expect(final.payload).toMatchObject({ state: 'final' });
  } finally {
    client.close();
  }
}, 120_000);

afterAll(async () => {
  await test?.close();
  await provider?.close();
  await home?.remove();
});

/** The CLI with the isolated home and, when given, the gateway in OPENCLAW_GATEWAY_URL/TOKEN. */
function cli(args: string[], options: { envGateway?: { url: string; token: string } } = {}) {
  return openclaw(
    peer,
    args,
    {
      ...home.env,
      ...(options.envGateway
        ? {
            OPENCLAW_GATEWAY_URL: options.envGateway.url,
            OPENCLAW_GATEWAY_TOKEN: options.envGateway.token,
          }
        : {}),
    },
    { timeoutMs: CLI_MS },
  );
}

/** `openclaw gateway call <method> --json`: resolves with the parsed payload, or fails showing the CLI's output. */
async function gatewayCall(method: string, params?: unknown) {
  const result = await cli([
    'gateway',
    'call',
    method,
    '--url',
    wsUrl,
    '--token',
    test.token,
    '--json',
    ...(params === undefined ? [] : ['--params', JSON.stringify(params)]),
  ]);
  expect(result.code, `gateway call ${method}: ${result.stdout}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('OpenClaw 2026.9.6 CLI against our gateway', () => {
  it(
    '`openclaw gateway health` prints OK with the right token and the token mismatch with a wrong one',
    async () => {
      const ok = await cli(['gateway', 'health', '--url', wsUrl, '--token', test.token]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^OK \(\d+ms\)$/m);

      const wrong = await cli(['gateway', 'health', '--url', wsUrl, '--token', `wrong-${randomUUID()}`]);
      expect(wrong.code, wrong.stdout).toBe(1);
      expect(wrong.stdout).not.toMatch(/^OK/m);
      expect(wrong.stderr).toContain('unauthorized: gateway token mismatch');
    },
    3 * CLI_MS,
  );

  it(
    '`openclaw health` (gateway from the environment) shows agent main and its session',
    async () => {
      const envGateway = { url: wsUrl, token: test.token };
      const text = await cli(['health'], { envGateway });
      expect(text.code, `${text.stdout}\n${text.stderr}`).toBe(0);
      expect(text.stdout).toMatch(/Agents: main \(default\)/);
      expect(text.stdout).toContain('agent:main:main');
      // Our store's directory, not a local OpenClaw sqlite: the answer came from the gateway.
      expect(text.stdout).toContain(test.stateDir);

      const json = await cli(['health', '--json'], { envGateway });
      expect(json.code, json.stderr).toBe(0);
      const health = JSON.parse(json.stdout) as {
        defaultAgentId: string;
        agents: {
          agentId: string;
          isDefault: boolean;
          sessions: { count: number; recent: { key: string }[] };
        }[];
      };
      expect(health.defaultAgentId).toBe('main');
      expect(health.agents).toHaveLength(1);
      expect(health.agents[0]).toMatchObject({ agentId: 'main', isDefault: true });
      expect(health.agents[0]?.sessions.count).toBeGreaterThanOrEqual(1);
      expect(health.agents[0]?.sessions.recent.map((session) => session.key)).toContain('agent:main:main');
    },
    3 * CLI_MS,
  );

  it(
    '`openclaw gateway call` status, agents.list, sessions.list and chat.history {"sessionKey":"main"}',
    async () => {
      const [status, agents, sessions, history] = await Promise.all([
        gatewayCall('status'),
        gatewayCall('agents.list'),
        gatewayCall('sessions.list'),
        gatewayCall('chat.history', { sessionKey: 'main' }),
      ]);
      // The gateway runs inside this test process.
      expect(status.pid).toBe(process.pid);
      expect(agents).toMatchObject({ defaultId: 'main', agents: [{ id: 'main', name: 'Main' }] });
      const rows = sessions.sessions as { key: string; messageCount: number }[];
      expect(rows.find((row) => row.key === 'agent:main:main')?.messageCount).toBeGreaterThanOrEqual(2);

      const messages = history.messages as HistoryMessage[];
      const asked = messages.findIndex(
        (message) => message.role === 'user' && textOf(message) === seed.message,
      );
      expect(asked, JSON.stringify(messages)).toBeGreaterThanOrEqual(0);
      expect(messages[asked + 1]).toMatchObject({ role: 'assistant' });
      expect(textOf(messages[asked + 1] as HistoryMessage)).toBe(replyTo(seed.word));
    },
    4 * CLI_MS,
  );

  it(
    '`openclaw agent --session-key agent:main:main` prints the model reply, which chat.history then shows',
    async () => {
      const word = marker('agent');
      const message = `hi ${word}`;
      const run = await cli(['agent', '--session-key', 'agent:main:main', '--message', message], {
        envGateway: { url: wsUrl, token: test.token },
      });
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout.trim()).toBe(replyTo(word));
      expect(provider.requests.some((request) => lastUserWord(request) === word)).toBe(true);

      const history = await gatewayCall('chat.history', { sessionKey: 'agent:main:main' });
      const last = (history.messages as HistoryMessage[]).slice(-2);
      expect(last.map((entry) => entry.role)).toEqual(['user', 'assistant']);
      expect(last.map(textOf)).toEqual([message, replyTo(word)]);
    },
    3 * CLI_MS,
  );

  describe('`openclaw acp`, the ACP bridge (signs a device identity on connect)', () => {
    const bridges: AcpBridge[] = [];
    afterAll(() => {
      for (const bridge of bridges) bridge.kill();
    });

    const initialize = async (acp: AcpBridge) => {
      // The bridge answers only once its gateway connection is up: the first call waits longest.
      const init = await acp.call(
        'initialize',
        {
          protocolVersion: 1,
          clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
        },
        120_000,
      );
      expect(init.error, acp.stderr()).toBeUndefined();
      expect(init.result).toMatchObject({ protocolVersion: 1, agentInfo: { name: 'openclaw-acp' } });
    };

    it('session/new then session/prompt streams the model reply as agent_message_chunk and ends the turn', async () => {
      const acp = spawnOpenClawAcp(
        peer,
        ['--url', wsUrl, '--token', test.token, '--session', 'agent:main:main'],
        home.env,
        home.dir,
      );
      bridges.push(acp);
      await initialize(acp);

      // Connected with a device our gateway verified (it refuses the connect otherwise).
      const connected = test.logs.find(
        (entry) => entry.msg === 'control client connected' && typeof entry.device === 'string',
      );
      expect(connected, JSON.stringify(test.logs.slice(-5))).toMatchObject({
        client: 'cli',
        scopes: ['operator.admin'],
        device: expect.stringMatching(/^[0-9a-f]{64}$/),
      });

      const created = await acp.call('session/new', { cwd: home.dir, mcpServers: [] });
      expect(created.error, acp.stderr()).toBeUndefined();
      const sessionId = created.result?.sessionId as string;
      expect(sessionId).toEqual(expect.any(String));

      const word = marker('acp');
      const prompt = await acp.call(
        'session/prompt',
        { sessionId, prompt: [{ type: 'text', text: `hello ${word}` }] },
        120_000,
      );
      expect(prompt.error, acp.stderr()).toBeUndefined();
      expect(prompt.result).toEqual({ stopReason: 'end_turn' });
      const streamed = acp.updates
        .filter(
          (entry) => entry.sessionId === sessionId && entry.update.sessionUpdate === 'agent_message_chunk',
        )
        .map((entry) => (entry.update.content as { text: string }).text)
        .join('');
      expect(streamed).toBe(replyTo(word));

      // The prompt went to agent:main:main (cwd-prefixed, as the bridge does by default).
      const history = await gatewayCall('chat.history', { sessionKey: 'agent:main:main' });
      const last = (history.messages as HistoryMessage[]).slice(-2);
      expect(textOf(last[0] as HistoryMessage)).toMatch(
        new RegExp(`^\\[Working directory: .*\\]\\n\\nhello ${word}$`),
      );
      expect(textOf(last[1] as HistoryMessage)).toBe(replyTo(word));

      acp.endInput();
      expect(await acp.exited, acp.stderr()).toEqual({ code: 0, signal: null });
    }, 300_000);

    it('session/load of agent:main:main replays the conversation so far', async () => {
      const acp = spawnOpenClawAcp(
        peer,
        ['--url', wsUrl, '--token', test.token, '--session', 'agent:main:main'],
        home.env,
        home.dir,
      );
      bridges.push(acp);
      await initialize(acp);
      const loaded = await acp.call('session/load', {
        sessionId: 'agent:main:main',
        cwd: home.dir,
        mcpServers: [],
      });
      expect(loaded.error, acp.stderr()).toBeUndefined();
      const replay = () =>
        acp.updates
          .filter((entry) => entry.sessionId === 'agent:main:main')
          .map((entry) => entry.update)
          .filter((update) => ['user_message_chunk', 'agent_message_chunk'].includes(update.sessionUpdate))
          .map((update) => [update.sessionUpdate, (update.content as { text: string }).text]);
      // The seeded exchange comes first, in order (later tests' turns may follow it).
      await vi.waitFor(
        () =>
          expect(replay().slice(0, 2)).toEqual([
            ['user_message_chunk', seed.message],
            ['agent_message_chunk', replyTo(seed.word)],
          ]),
        { timeout: 30_000, interval: 200 },
      );

      acp.endInput();
      expect(await acp.exited, acp.stderr()).toEqual({ code: 0, signal: null });
    }, 300_000);
  });
});
