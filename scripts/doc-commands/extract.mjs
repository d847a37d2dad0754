// The shell commands a Markdown file tells its reader to run, so that
// scripts/check-doc-commands.mjs can hold each one to account. A command is:
// - every line of a sh/bash/shell/console fence (comments dropped, `\` lines joined);
// - a line of a plain or text fence that starts with a program (below);
// - an inline code span that starts with a program and has an argument
//   (`pnpm test`, not the bare name `pnpm`), environment assignments first allowed;
// - a row of a command table whose program the caller names: docs/gateway.md's
//   "Commands" table lists `multiclaw-gateway` sub-commands without the program.

/** Programs a reader might be told to run. A span that names one with an argument is a command. */
export const PROGRAMS = new Set([
  'apt',
  'apt-get',
  'bash',
  'biome',
  'curl',
  'docker',
  'docker-compose',
  'export',
  'git',
  'launchctl',
  'multiclaw-gateway',
  'node',
  'npm',
  'npx',
  'openclaw',
  'openssl',
  'pg_dump',
  'pnpm',
  'prisma',
  'psql',
  'sh',
  'sudo',
  'systemctl',
  'tsx',
  'turbo',
  'vitest',
]);

const SHELL_FENCES = new Set(['sh', 'bash', 'shell', 'console', 'zsh', 'shell-session']);
const PLAIN_FENCES = new Set(['', 'text', 'txt', 'plain']);
const FENCE = /^\s*(`{3,}|~{3,})\s*([\w-]*)/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=\S*$/;

/** `text` is a command when, past any `VAR=value` words, a program comes with an argument or an assignment. */
export function isCommand(text) {
  const words = text.trim().split(/\s+/);
  let i = 0;
  while (i < words.length && ASSIGNMENT.test(words[i])) i++;
  if (!PROGRAMS.has(words[i])) return false;
  return i > 0 || words.length > i + 1;
}

const squeeze = (text) => text.replace(/\s+/g, ' ').trim();

/**
 * @param {string} markdown
 * @param {{ tables?: { heading: string; program: string }[] }} [options]
 *   tables: under a heading with this text, the first code span of each table row is `program <span>`.
 * @returns {{ line: number; command: string; from: 'fence' | 'inline' | 'table' }[]}
 */
export function extractCommands(markdown, options = {}) {
  const lines = markdown.split('\n');
  const found = [];
  // Fences first; their lines are blanked so that the inline pass sees prose only.
  const prose = [...lines];
  let fence = null;
  let pending = null;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const open = FENCE.exec(line);
    if (fence === null && open) {
      fence = { marker: open[1], lang: open[2].toLowerCase() };
      prose[index] = '';
      continue;
    }
    if (fence === null) continue;
    prose[index] = '';
    const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1][0] === fence.marker[0] && close[1].length >= fence.marker.length) {
      fence = null;
      continue;
    }
    if (SHELL_FENCES.has(fence.lang)) {
      let text = line.replace(/^\s*\$ /, '');
      if (pending) text = `${pending.text} ${text}`;
      if (/\\\s*$/.test(text)) {
        pending = { text: text.replace(/\\\s*$/, ''), line: pending?.line ?? index + 1 };
        continue;
      }
      const start = pending?.line ?? index + 1;
      pending = null;
      const command = squeeze(text.replace(/(^|\s)#(\s.*)?$/, ''));
      if (command) found.push({ line: start, command, from: 'fence' });
    } else if (PLAIN_FENCES.has(fence.lang) && isCommand(line)) {
      found.push({ line: index + 1, command: squeeze(line), from: 'fence' });
    }
  }

  const tables = options.tables ?? [];
  let table = null;
  for (let index = 0; index < prose.length; index++) {
    const heading = /^#{1,6}\s+(.*?)\s*$/.exec(prose[index]);
    if (heading) table = tables.find((t) => t.heading === heading[1]) ?? null;
    if (table && /^\s*\|/.test(prose[index]) && !/^\s*\|[\s:|-]+\|\s*$/.test(prose[index])) {
      const first = prose[index].replace(/\\\|/g, '\uE000').split('|')[1] ?? '';
      const span = /`([^`]+)`/.exec(first);
      if (span) {
        found.push({
          line: index + 1,
          command: squeeze(`${table.program} ${span[1].replace(/\uE000/g, '|')}`),
          from: 'table',
        });
        prose[index] = prose[index].replace(`\`${span[1]}\``, '');
      }
    }
  }

  // Inline spans may wrap across lines, but not across a paragraph (a blank line).
  let first = 0;
  for (let index = 0; index <= prose.length; index++) {
    if (index < prose.length && prose[index].trim() !== '') continue;
    const paragraph = prose.slice(first, index).join('\n');
    for (const match of paragraph.matchAll(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g)) {
      const span = squeeze(match[2].replace(/\\\|/g, '|'));
      const line = first + paragraph.slice(0, match.index).split('\n').length;
      if (isCommand(span)) found.push({ line, command: span, from: 'inline' });
    }
    first = index + 1;
  }
  return found.sort((a, b) => a.line - b.line);
}
