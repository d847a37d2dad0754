import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parsePort, runCommander } from './cli.js';

/** A program with one command whose action answers 3 or throws, writing nothing to the terminal. */
const build = (done: (code: number) => void) => {
  const quiet = { writeOut: () => {}, writeErr: () => {}, outputError: () => {} };
  const program = new Command('demo').version('1.2.3').configureOutput(quiet).exitOverride();
  program
    .command('go')
    .option('--port <port>', 'a port', parsePort)
    .option('--fail', 'throw instead', false)
    .configureOutput(quiet)
    .action(async (options: { fail: boolean }) => {
      if (options.fail) throw new Error('a bug');
      done(3);
    });
  return program;
};

describe('runCommander', () => {
  it("resolves with the action's code, 0 for --help and --version, 64 for usage errors and a bare command", async () => {
    expect(await runCommander(build, ['go'])).toBe(3);
    expect(await runCommander(build, ['--', 'go'])).toBe(3);
    expect(await runCommander(build, ['--help'])).toBe(0);
    expect(await runCommander(build, ['--version'])).toBe(0);
    expect(await runCommander(build, ['nope'])).toBe(64);
    expect(await runCommander(build, ['go', '--port', '70000'])).toBe(64);
    expect(await runCommander(build, [])).toBe(64);
  });

  it('rejects with an error that is not a usage error', async () => {
    await expect(runCommander(build, ['go', '--fail'])).rejects.toThrow('a bug');
  });
});

it('parsePort takes 0–65535 only', () => {
  expect(parsePort('0')).toBe(0);
  expect(parsePort('65535')).toBe(65_535);
  for (const bad of ['-1', '65536', '1.5', 'http']) expect(() => parsePort(bad)).toThrow('a port number');
});
