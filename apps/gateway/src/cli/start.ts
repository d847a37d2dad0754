import { installCrashHandler, writeCrashLog } from '@multiclaw/runtime/crash-log';
import { createLogger } from '@multiclaw/runtime/logger';
import { createShutdown, shutdownOnSignals } from '@multiclaw/runtime/shutdown';
import type { GatewayPaths } from '../config/paths.js';
import { PermissionError } from '../config/permissions.js';
import { ConfigError } from '../config/schema.js';
import { ConfigSymlinkError } from '../config/symlinked-config.js';
import { startGateway } from '../gateway.js';
import { StoreLockedError } from '../store/local-store.js';
import { StoreDamagedError } from '../store/record-file.js';
import { EXIT } from './exit-codes.js';
import { GATEWAY_PROGRAM } from './program.js';

/** `start`: runs the gateway in the foreground until SIGINT/SIGTERM. Resolves with the exit code. */
export async function runStart(
  paths: GatewayPaths,
  options: { strict: boolean; port?: number | undefined },
): Promise<number> {
  installCrashHandler(paths.crashDir, GATEWAY_PROGRAM);
  const log = createLogger({ service: 'multiclaw-gateway' });
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({ paths, log, strict: options.strict, port: options.port });
  } catch (error) {
    if (
      error instanceof ConfigError ||
      error instanceof PermissionError ||
      error instanceof ConfigSymlinkError
    ) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.CONFIG;
    }
    if (error instanceof StoreDamagedError) {
      // The docs promise a crash log for exit 70; the person gets what to do, not a stack.
      const crashLog = writeCrashLog(paths.crashDir, GATEWAY_PROGRAM, error);
      process.stderr.write(
        `the gateway's store is damaged: ${error.message}.\n` +
          'The gateway does not start rather than silently drop what follows the damage. ' +
          `Run "multiclaw-gateway doctor" to list damaged files; to start anyway, move ${error.path} aside (keep a copy).\n` +
          `Details: ${crashLog}\n`,
      );
      return EXIT.SOFTWARE;
    }
    if (error instanceof StoreLockedError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.UNAVAILABLE;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`the gateway port is already in use: ${(error as Error).message}\n`);
      return EXIT.UNAVAILABLE;
    }
    throw error;
  }
  log.info(
    { url: gateway.url, addresses: gateway.addresses, config: paths.configPath },
    `MultiClaw gateway listening on ${gateway.url}`,
  );
  // No timeout: closing drains the runs, whose replies are stored before the store closes.
  return shutdownOnSignals(createShutdown({ app: gateway, logger: log }));
}
