// node --test: what counts as a documented command (scripts/check-doc-commands.mjs holds each to account).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractCommands, isCommand } from './extract.mjs';

const commands = (markdown, options) =>
  extractCommands(markdown, options).map((c) => `${c.line} ${c.from} ${c.command}`);

test('every line of a shell fence, comments dropped and continuations joined', () => {
  const markdown = [
    'Run:',
    '',
    '```sh',
    '# a comment',
    'pnpm install',
    'docker compose run --rm migrate      # what it runs',
    'curl -fsS \\',
    '  http://127.0.0.1:8080/readyz',
    'make-believe --flag',
    '```',
  ].join('\n');
  assert.deepEqual(commands(markdown), [
    '5 fence pnpm install',
    '6 fence docker compose run --rm migrate',
    '7 fence curl -fsS http://127.0.0.1:8080/readyz',
    // Not a known program, but in a shell fence: still a command to account for.
    '9 fence make-believe --flag',
  ]);
});

test('plain fences count only lines that start with a program; code fences not at all', () => {
  const markdown = [
    '```',
    ' ┌── a diagram ──┐',
    'node server.js',
    '```',
    '```ts',
    "import x from 'y';",
    'pnpm in a ts fence',
    '```',
  ].join('\n');
  assert.deepEqual(commands(markdown), ['3 fence node server.js']);
});

test('inline spans: a program with an argument, past env assignments, wrapped across lines', () => {
  const markdown = [
    'Use `pnpm test`, the `pnpm` binary, `POSTGRES_PASSWORD=` and `DATABASE_URL=x pnpm test`;',
    'the image runs (`pnpm --filter',
    '@multiclaw/cloud build`).',
    '',
    'A stray ` backtick here',
    '',
    'does not pair with `node -e` in the next paragraph.',
  ].join('\n');
  assert.deepEqual(commands(markdown), [
    '1 inline pnpm test',
    '1 inline DATABASE_URL=x pnpm test',
    '2 inline pnpm --filter @multiclaw/cloud build',
    '7 inline node -e',
  ]);
});

test('a command table under its heading gets its program; escaped pipes are pipes', () => {
  const markdown = [
    '## Commands',
    '',
    '| command | what |',
    '| --- | --- |',
    '| `start [--port N]` | runs |',
    '| `service install [--platform linux\\|darwin]` | installs `pnpm x` |',
    '',
    '## Other',
    '',
    '| `start` | not a command table |',
  ].join('\n');
  assert.deepEqual(commands(markdown, { tables: [{ heading: 'Commands', program: 'multiclaw-gateway' }] }), [
    '5 table multiclaw-gateway start [--port N]',
    '6 table multiclaw-gateway service install [--platform linux|darwin]',
    '6 inline pnpm x',
  ]);
});

test('isCommand', () => {
  assert.equal(isCommand('multiclaw-gateway'), false);
  assert.equal(isCommand('multiclaw-gateway status'), true);
  assert.equal(isCommand('MULTICLAW_SKIP_BROWSER=1'), false);
  assert.equal(isCommand('FOO=1 node'), true);
  assert.equal(isCommand('openclaw.json'), false);
});
