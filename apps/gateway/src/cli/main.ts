import { isMainModule, parsePort, runCommander, runMain } from '@multiclaw/runtime/cli';
import { Command, Option } from 'commander';
import { resolveGatewayPaths } from '../config/paths.js';
import { registerExtensionCommands } from '../extension/extension-cli.js';
import { registerRecordingsCommands } from '../recordings/recordings-cli.js';
import { registerUpdateCommands } from '../update/update-cli.js';
import { GATEWAY_VERSION } from '../version.js';
import { runDoctor } from './doctor.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { runLink, runUnlink } from './link.js';
import { GATEWAY_PROGRAM } from './program.js';
import { runServiceInstall, runServiceUninstall, type ServicePlatform } from './service.js';
import { runStart } from './start.js';
import { runStatus } from './status.js';
import { runTokenRotate } from './token.js';

const LINK_HELP = `
The device key (Ed25519, never sent anywhere) and the link state live in
<state dir>/identity/ (0700; files 0600), not in openclaw.json. A running
gateway picks up link and unlink within about a second.
link exits 1 when already linked or the code is refused, 64 for an insecure
or malformed cloud URL, 69 when the cloud cannot be reached.
`;

const defaultPlatform = (): ServicePlatform => (process.platform === 'darwin' ? 'darwin' : 'linux');

/** Builds the `multiclaw-gateway` command line; each action resolves with an exit code. */
export function buildCli(env: NodeJS.ProcessEnv, done: (code: number) => void): Command {
  const paths = () => resolveGatewayPaths(env);
  const finish = (promise: Promise<number>) => promise.then(done);
  const program = new Command('multiclaw-gateway')
    .description('The MultiClaw local gateway: agents, conversations and credentials on this machine')
    .version(GATEWAY_VERSION)
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('run the gateway in the foreground (Ctrl-C stops it)')
    .option('--strict', 'refuse to start when files are readable by others, instead of repairing them', false)
    .option('--port <port>', 'listen on this port instead of gateway.port', parsePort)
    .addHelpText('after', EXIT_CODES_HELP)
    .action((options: { strict: boolean; port?: number }) => finish(runStart(paths(), options)));

  program
    .command('status')
    .description('tell whether a gateway is running for this config')
    .option('--json', 'print JSON', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action((options: { json: boolean }) => finish(runStatus(paths(), options)));

  program
    .command('link')
    .description('link this gateway to a MultiClaw Cloud workspace with a one-time code from the workspace')
    .requiredOption('--cloud <url>', "the cloud's https URL (plain http only to 127.0.0.1, ::1 or localhost)")
    .requiredOption('--code <code>', 'the one-time enrollment code (valid 10 minutes, single use)')
    .option('--name <name>', 'how this gateway is listed in the workspace')
    .addHelpText('after', `${LINK_HELP}${EXIT_CODES_HELP}`)
    .action((options: { cloud: string; code: string; name?: string }) => finish(runLink(paths(), options)));

  program
    .command('unlink')
    .description('revoke this gateway at the cloud (when reachable) and delete its key and link state')
    .addHelpText('after', `${LINK_HELP}${EXIT_CODES_HELP}`)
    .action(() => finish(runUnlink(paths())));

  registerExtensionCommands(program, paths, finish);
  registerRecordingsCommands(program, paths, finish);

  const token = program.command('token').description('manage the gateway token');
  token
    .command('rotate')
    .description('replace gateway.auth.token with a fresh 256-bit token (the old one stops working at once)')
    .option('--show', 'print the new token', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action((options: { show: boolean }) => finish(runTokenRotate(paths(), options)));

  program
    .command('doctor')
    .description('check permissions, config validity, the port and each provider')
    .option('--json', 'print JSON', false)
    .option('--offline', 'skip the provider reachability checks', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action((options: { json: boolean; offline: boolean }) => finish(runDoctor(paths(), options)));

  registerUpdateCommands(program, paths, env, finish);

  const platform = () =>
    new Option('--platform <platform>', 'write the unit for this platform')
      .choices(['linux', 'darwin'])
      .default(defaultPlatform());
  const service = program
    .command('service')
    .description('run the gateway at login (systemd user unit / launchd agent)');
  service
    .command('install')
    .description('write the systemd user unit (Linux) or launchd plist (macOS)')
    .addOption(platform())
    .option('--start', 'also enable and start it now', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action((options: { platform: ServicePlatform; start: boolean }) =>
      finish(runServiceInstall(env, { ...options, stateDir: paths().stateDir })),
    );
  service
    .command('uninstall')
    .description('remove the unit (or plist)')
    .addOption(platform())
    .option('--stop', 'stop and disable it first', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action((options: { platform: ServicePlatform; stop: boolean }) =>
      finish(runServiceUninstall(env, options)),
    );
  return program;
}

/** Runs the CLI with argv; resolves with the exit code (never calls process.exit itself). */
export function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runCommander((done) => buildCli(env, done), argv);
}

if (isMainModule(import.meta.url, GATEWAY_PROGRAM)) {
  runMain(GATEWAY_PROGRAM, runCli, () => resolveGatewayPaths(process.env).crashDir);
}
