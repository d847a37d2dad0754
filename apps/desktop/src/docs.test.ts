import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DESKTOP_COMMANDS, DesktopEventsToUi } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { commandHandlers } from './commands/index.js';
import { createRegistry } from './ipc/registry.js';

const DOC = fileURLToPath(new URL('../../../docs/desktop.md', import.meta.url));
const CAPABILITIES = fileURLToPath(new URL('../capabilities', import.meta.url));

/** The backticked first cells of the table under `heading`. */
async function firstColumn(heading: string): Promise<string[]> {
  const text = await readFile(DOC, 'utf8');
  const section = text.slice(text.indexOf(`\n## ${heading}\n`) + 1);
  const body = section.slice(0, section.indexOf('\n## ', 1) === -1 ? undefined : section.indexOf('\n## ', 1));
  return [...body.matchAll(/^\| `([^`]+)`(?: \/ `([^`]+)`)? *\|/gm)].flatMap((match) =>
    [match[1], match[2]].filter((name): name is string => name !== undefined),
  );
}

describe('docs/desktop.md', () => {
  it('documents every command of the registry, and nothing else', async () => {
    // The registry the host serves, built with no dependencies: its names are all that is read here.
    const registry = createRegistry(commandHandlers({} as Parameters<typeof commandHandlers>[0]));
    const documented = await firstColumn('Commands');
    expect([...documented].sort()).toEqual([...registry.keys()].sort());
    expect(registry.size).toBe(DESKTOP_COMMANDS.length);
  });

  it('documents every frame of the event stream', async () => {
    expect((await firstColumn('The event stream')).sort()).toEqual(Object.keys(DesktopEventsToUi).sort());
  });

  it('describes every capability file shipped', async () => {
    const text = await readFile(DOC, 'utf8');
    for (const file of await readdir(CAPABILITIES)) expect(text).toContain(`\`${file}\``);
  });
});
