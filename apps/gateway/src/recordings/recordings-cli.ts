import { writeFile } from 'node:fs/promises';
import type { Recording, RecordingSummary } from '@multiclaw/protocol';
import type { Command } from 'commander';
import type { GatewayPaths } from '../config/paths.js';
import { callLocalGateway, cliAction } from './local-call.js';
import { RECORDING_METHOD_SCOPES as SCOPES } from './method-scopes.js';
import { renderStep } from './skill-format.js';

const HELP = `
Recordings are made by the MultiClaw browser extension (docs/extension.md) and
kept by the running gateway under <state dir>/store/recordings; these commands
ask it. They exit 1 when the gateway refuses (no such recording), 69 when no
gateway is running.
`;

type Call = (method: keyof typeof SCOPES, params?: unknown) => Promise<unknown>;

/** `multiclaw-gateway recordings …`: list, show, rename, delete, export, attach and detach. */
export function registerRecordingsCommands(
  program: Command,
  paths: () => GatewayPaths,
  finish: (promise: Promise<number>) => void,
): void {
  const call: Call = (method, params) => callLocalGateway(paths(), method, params, SCOPES[method]);
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  const recordings = program
    .command('recordings')
    .description('browser recordings made with the extension')
    .addHelpText('after', HELP);

  recordings
    .command('list')
    .description('list recordings, newest first')
    .option('--json', 'print JSON', false)
    .action((options: { json: boolean }) =>
      finish(
        cliAction(async () => {
          const { items } = (await call('multiclaw.recordings.list')) as { items: RecordingSummary[] };
          if (options.json) return print({ items });
          if (!items.length) process.stdout.write('no recordings yet\n');
          for (const item of items)
            process.stdout.write(`${item.id}  ${item.stepCount} steps  ${item.startedAt}  ${item.name}\n`);
        }),
      ),
    );

  recordings
    .command('show <id>')
    .description('show one recording step by step')
    .option('--json', 'print JSON', false)
    .action((id: string, options: { json: boolean }) =>
      finish(
        cliAction(async () => {
          const { recording } = (await call('multiclaw.recordings.get', { id })) as { recording: Recording };
          if (options.json) return print({ recording });
          process.stdout.write(`${recording.name} (${recording.stepCount} steps)\n`);
          for (const [index, step] of recording.steps.entries())
            process.stdout.write(`${index + 1}. ${renderStep(step)}\n`);
        }),
      ),
    );

  recordings
    .command('rename <id> <name>')
    .description('give a recording a new name')
    .action((id: string, name: string) =>
      finish(cliAction(async () => void (await call('multiclaw.recordings.rename', { id, name })))),
    );

  recordings
    .command('delete <id>')
    .description('delete a recording and its steps')
    .action((id: string) =>
      finish(cliAction(async () => void (await call('multiclaw.recordings.delete', { id })))),
    );

  recordings
    .command('export <id>')
    .description('write a recording as JSON (format multiclaw.recording/1)')
    .option('--out <file>', 'write to this file (0600) instead of standard output')
    .action((id: string, options: { out?: string }) =>
      finish(
        cliAction(async () => {
          const exported = await call('multiclaw.recordings.export', { id });
          if (!options.out) return print(exported);
          await writeFile(options.out, `${JSON.stringify(exported, null, 2)}\n`, { mode: 0o600 });
        }),
      ),
    );

  for (const [name, method, description] of [
    [
      'attach',
      'multiclaw.recordings.attach',
      "attach a recording to an agent as a skill (its steps join the agent's system prompt)",
    ],
    ['detach', 'multiclaw.recordings.detach', 'take a recording off an agent'],
  ] as const)
    recordings
      .command(`${name} <id>`)
      .description(description)
      .requiredOption('--agent <agentId>', 'the agent')
      .action((id: string, options: { agent: string }) =>
        finish(cliAction(async () => void (await call(method, { id, agentId: options.agent })))),
      );
}
