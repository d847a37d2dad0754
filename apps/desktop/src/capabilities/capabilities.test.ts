import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DESKTOP_COMMANDS } from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { CapabilityError, loadCapabilityFiles } from './capability-file.js';
import { CapabilityPolicy } from './policy.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A folder holding exactly these capability files (name → JSON value or raw text). */
async function folder(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mc-capabilities-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files))
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

const capability = (identifier: string, windows: string[], allow: string[], deny: string[] = []) => ({
  identifier,
  description: `test capability ${identifier}`,
  windows,
  commands: { allow, deny },
});

async function policyOf(files: Record<string, unknown>) {
  return CapabilityPolicy.from(
    await loadCapabilityFiles(await folder(files), DESKTOP_COMMANDS),
    DESKTOP_COMMANDS,
  );
}

describe('a window’s rights', () => {
  it('allows what a capability naming the window allows, and nothing else', async () => {
    const policy = await policyOf({ 'a.json': capability('a', ['main'], ['chat.send', 'agents.list']) });
    expect(policy.decide('main', 'chat.send')).toEqual({ allowed: true, by: ['a'] });
    expect(policy.decide('main', 'agents.list').allowed).toBe(true);
    expect(policy.decide('main', 'providers.add')).toEqual({ allowed: false, reason: 'not allowed' });
    expect(policy.decide('main', 'chat.abort').allowed).toBe(false);
  });

  it('is the union of every capability naming the window', async () => {
    const policy = await policyOf({
      'a.json': capability('a', ['main'], ['chat.send']),
      'b.json': capability('b', ['main', 'chat'], ['providers.list']),
    });
    expect(policy.decide('main', 'chat.send').allowed).toBe(true);
    expect(policy.decide('main', 'providers.list')).toEqual({ allowed: true, by: ['b'] });
    expect(policy.decide('chat', 'providers.list').allowed).toBe(true);
    expect(policy.decide('chat', 'chat.send').allowed).toBe(false);
  });

  it('lets a deny in any capability win over every allow, also from another file', async () => {
    const policy = await policyOf({
      'a.json': capability('a', ['main'], ['providers.*']),
      'b.json': capability('b', ['main'], [], ['providers.replaceKey']),
    });
    expect(policy.decide('main', 'providers.replaceKey')).toEqual({
      allowed: false,
      reason: 'denied',
      by: ['b'],
    });
    expect(policy.decide('main', 'providers.add').allowed).toBe(true);
  });

  it('denies a command the host does not have, and every command to a window no capability names', async () => {
    const policy = await policyOf({ 'a.json': capability('a', ['main'], ['chat.*']) });
    expect(policy.decide('main', 'chat.exec')).toEqual({ allowed: false, reason: 'unknown command' });
    expect(policy.decide('main', 'constructor')).toEqual({ allowed: false, reason: 'unknown command' });
    expect(policy.decide('other', 'chat.send')).toEqual({ allowed: false, reason: 'unknown window' });
    expect(policy.windows()).toEqual(['main']);
  });

  it('reads "group.*" as every command of that group only', async () => {
    const policy = await policyOf({ 'a.json': capability('a', ['main'], ['chat.*']) });
    expect(['chat.send', 'chat.abort', 'chat.history'].map((c) => policy.decide('main', c).allowed)).toEqual([
      true,
      true,
      true,
    ]);
    expect(policy.decide('main', 'sessions.list').allowed).toBe(false);
  });
});

describe('a capability file the host refuses to start with', () => {
  const refusal = async (content: unknown, extra: Record<string, unknown> = {}) => {
    const dir = await folder({
      'good.json': capability('good', ['main'], ['chat.send']),
      'bad.json': content,
      ...extra,
    });
    const error = await loadCapabilityFiles(dir, DESKTOP_COMMANDS).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CapabilityError);
    expect((error as CapabilityError).file).toBe(join(dir, 'bad.json'));
    expect((error as CapabilityError).message).toContain(join(dir, 'bad.json'));
    return (error as CapabilityError).problems;
  };

  it.each([
    ['not JSON', '{"identifier": "x",', ['not valid JSON']],
    ['an unknown key', { ...capability('x', ['main'], []), scope: 'all' }, ['scope: unknown key']],
    ['no windows', capability('x', [], ['chat.send']), ['windows: name at least one window']],
    [
      'no description',
      { ...capability('x', ['main'], []), description: ' ' },
      ['description: say what this capability is for'],
    ],
    [
      'a command that does not exist (a typo)',
      capability('x', ['main'], ['chat.sned']),
      ['commands.allow.0: no command "chat.sned" exists in this host'],
    ],
    [
      'a group that does not exist',
      capability('x', ['main'], [], ['shell.*']),
      ['commands.deny.0: no command "shell.*" exists in this host'],
    ],
    [
      'a bare wildcard',
      capability('x', ['main'], ['*']),
      ['commands.allow.0: a command name such as "chat.send", or "group.*"'],
    ],
    [
      'a window label with a path in it',
      capability('x', ['../main'], []),
      [expect.stringContaining('windows.0:')],
    ],
  ])('refuses %s, naming the file and the problem', async (_name, content, problems) => {
    expect(await refusal(content)).toEqual(problems);
  });

  it('refuses two files with one identifier, naming the second and the first', async () => {
    const dir = await folder({
      'a.json': capability('same', ['main'], ['chat.send']),
      'b.json': capability('same', ['chat'], []),
    });
    const error = (await loadCapabilityFiles(dir, DESKTOP_COMMANDS).catch(
      (caught: unknown) => caught,
    )) as CapabilityError;
    expect(error.file).toBe(join(dir, 'b.json'));
    expect(error.problems).toEqual([`identifier "same" is used by ${join(dir, 'a.json')} too`]);
  });

  it('refuses an empty folder: no window could call anything', async () => {
    const dir = await folder({});
    await expect(loadCapabilityFiles(dir, DESKTOP_COMMANDS)).rejects.toThrow('no capability files');
  });
});

describe('the capability files shipped in apps/desktop/capabilities', () => {
  const shipped = fileURLToPath(new URL('../../capabilities', import.meta.url));
  const load = async () =>
    CapabilityPolicy.from(await loadCapabilityFiles(shipped, DESKTOP_COMMANDS), DESKTOP_COMMANDS);

  it('let the main window call every local command', async () => {
    const policy = await load();
    const denied = DESKTOP_COMMANDS.filter((command) => !policy.decide('main', command).allowed);
    expect(denied).toEqual([]);
  });

  it('keep provider keys, settings and gateway start out of the chat window, whatever allows them', async () => {
    const policy = await load();
    for (const command of [
      'providers.add',
      'providers.replaceKey',
      'providers.list',
      'settings.update',
      'gateway.start',
      'agents.delete',
      'sessions.delete',
    ])
      expect(policy.decide('chat', command).allowed, command).toBe(false);
    for (const command of ['chat.send', 'chat.abort', 'chat.history', 'agents.list', 'sessions.list'])
      expect(policy.decide('chat', command).allowed, command).toBe(true);
  });
});
