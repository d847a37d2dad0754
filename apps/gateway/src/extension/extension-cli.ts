import type { ExtensionPairingSummary, PairingCode } from '@multiclaw/protocol';
import type { Command } from 'commander';
import type { GatewayPaths } from '../config/paths.js';
import { callLocalGateway, cliAction } from '../recordings/local-call.js';
import { RECORDING_METHOD_SCOPES as SCOPES } from '../recordings/method-scopes.js';

const HELP = `
Pairing gives the MultiClaw browser extension a token that can append
recordings and nothing else, and adds its exact chrome-extension://<id> origin
to gateway.allowedOrigins. Unpairing revokes the token at once and removes
the origin. These commands ask the running gateway (exit 69 when none runs).
`;

/** `multiclaw-gateway extension pair | list | unpair`. */
export function registerExtensionCommands(
  program: Command,
  paths: () => GatewayPaths,
  finish: (promise: Promise<number>) => void,
): void {
  const call = (method: keyof typeof SCOPES, params?: unknown) =>
    callLocalGateway(paths(), method, params, SCOPES[method]);
  const extension = program
    .command('extension')
    .description('pair and unpair the MultiClaw browser extension')
    .addHelpText('after', HELP);

  extension
    .command('pair')
    .description('print a pairing code (valid 5 minutes, single use) to type into the extension popup')
    .action(() =>
      finish(
        cliAction(async () => {
          const { code, expiresAt } = (await call('multiclaw.extension.pairingCode')) as PairingCode;
          // The code alone on its line: scripts and tests read it from there.
          process.stdout.write(`${code}\n`);
          process.stderr.write(`Type this code into the extension's popup before ${expiresAt}.\n`);
        }),
      ),
    );

  extension
    .command('list')
    .description('list the paired extensions')
    .option('--json', 'print JSON', false)
    .action((options: { json: boolean }) =>
      finish(
        cliAction(async () => {
          const { items } = (await call('multiclaw.extension.list')) as { items: ExtensionPairingSummary[] };
          if (options.json) return void process.stdout.write(`${JSON.stringify({ items })}\n`);
          if (!items.length) process.stdout.write('no extension is paired\n');
          for (const item of items)
            process.stdout.write(`${item.id}  ${item.origin}  paired ${item.pairedAt}\n`);
        }),
      ),
    );

  extension
    .command('unpair [id]')
    .description('revoke a paired extension now (every one when no id is given)')
    .action((id: string | undefined) =>
      finish(
        cliAction(async () => {
          const { items } = (await call('multiclaw.extension.list')) as { items: ExtensionPairingSummary[] };
          const targets = id ? [id] : items.map((item) => item.id);
          for (const target of targets) {
            const { revoked } = (await call('multiclaw.extension.unpair', { id: target })) as {
              revoked: boolean;
            };
            process.stdout.write(`${target}: ${revoked ? 'unpaired' : 'was not paired'}\n`);
          }
          if (!targets.length) process.stdout.write('no extension is paired\n');
        }),
      ),
    );
}
