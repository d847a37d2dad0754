import { isRefusal } from '@multiclaw/updater';
import { EXIT } from '../cli/exit-codes.js';
import type { GatewayPaths } from '../config/paths.js';
import { ConfigError } from '../config/schema.js';
import { gatewayUpdate } from './gateway-update.js';
import { UpdateNotConfiguredError, versionsDir } from './gateway-updater.js';

/** `update check` and `update apply` (registered in update-cli.ts): prints the outcome, resolves with the exit code. */
export async function runUpdate(
  action: 'check' | 'apply',
  paths: GatewayPaths,
  env: NodeJS.ProcessEnv,
  options: { json: boolean },
): Promise<number> {
  const print = (text: string, json: unknown) =>
    process.stdout.write(options.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
  try {
    const result = await gatewayUpdate(action, paths, env, (message) => process.stderr.write(`${message}\n`));
    if (result.status === 'up-to-date') {
      print(`up to date: ${result.version} is the newest release accepted.`, result);
    } else if (result.status === 'available') {
      const { version, channel, expires } = result.release;
      print(
        `${version} is available on "${channel}" (manifest valid until ${expires.toISOString()}). Run "multiclaw-gateway update apply" to install it.`,
        { status: 'available', version, channel, expires },
      );
    } else {
      print(
        `installed ${result.version} (was ${result.previous}) in ${versionsDir(paths)}; it started. Restart a running gateway to use it.`,
        result,
      );
    }
    return EXIT.OK;
  } catch (error) {
    return reportFailure(error, options.json);
  }
}

function reportFailure(error: unknown, json: boolean): number {
  const say = (code: string, message: string) =>
    process.stderr.write(
      json ? `${JSON.stringify({ status: 'refused', code, message })}\n` : `${message} (${code})\n`,
    );
  if (error instanceof UpdateNotConfiguredError) {
    say('UPDATE_NOT_CONFIGURED', error.message);
    return EXIT.CONFIG;
  }
  if (error instanceof ConfigError) {
    say('CONFIG_INVALID', error.message);
    return EXIT.CONFIG;
  }
  if (isRefusal(error)) {
    say(error.code, error.message);
    return error.code === 'DOWNLOAD_FAILED' ? EXIT.UNAVAILABLE : EXIT.PROBLEMS;
  }
  if ((error as { code?: string }).code === 'EGRESS_REFUSED') {
    say('EGRESS_REFUSED', (error as Error).message);
    return EXIT.UNAVAILABLE;
  }
  throw error;
}
