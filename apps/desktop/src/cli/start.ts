import { DESKTOP_COMMANDS } from '@multiclaw/protocol';
import { installCrashHandler } from '@multiclaw/runtime/crash-log';
import { createLogger } from '@multiclaw/runtime/logger';
import { createShutdown, shutdownOnSignals } from '@multiclaw/runtime/shutdown';
import { CapabilityError, loadCapabilityFiles } from '../capabilities/capability-file.js';
import { CapabilityPolicy } from '../capabilities/policy.js';
import { capabilitiesDirOf, EnvError, parseDesktopEnv } from '../config.js';
import { startDesktop } from '../desktop.js';
import { DESKTOP_PROGRAM } from '../version.js';
import { openWindow } from '../window/open-window.js';
import { EXIT } from './exit-codes.js';

export interface StartOptions {
  open: boolean;
  printCapabilities: boolean;
  port?: number | undefined;
}

/** `start`: the host in the foreground until SIGINT/SIGTERM, with its window. Resolves with the exit code. */
export async function runStart(processEnv: NodeJS.ProcessEnv, options: StartOptions): Promise<number> {
  let env: ReturnType<typeof parseDesktopEnv>;
  try {
    env = parseDesktopEnv(processEnv);
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT.CONFIG;
  }
  const capabilitiesDir = capabilitiesDirOf(env);
  try {
    if (options.printCapabilities) {
      const capabilities = await loadCapabilityFiles(capabilitiesDir, DESKTOP_COMMANDS);
      process.stdout.write(CapabilityPolicy.from(capabilities, DESKTOP_COMMANDS).table());
      return EXIT.OK;
    }
    return await serve(env, processEnv, capabilitiesDir, options);
  } catch (error) {
    if (error instanceof CapabilityError) {
      process.stderr.write(`multiclaw-desktop refuses to start: ${error.message}\n`);
      return EXIT.CONFIG;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(
        `the desktop port is already in use (another desktop running?); set MULTICLAW_DESKTOP_PORT or --port: ${(error as Error).message}\n`,
      );
      return EXIT.UNAVAILABLE;
    }
    throw error;
  }
}

async function serve(
  env: ReturnType<typeof parseDesktopEnv>,
  processEnv: NodeJS.ProcessEnv,
  capabilitiesDir: string,
  options: StartOptions,
): Promise<number> {
  const log = createLogger({ service: 'multiclaw-desktop', level: env.LOG_LEVEL });
  const desktop = await startDesktop({
    env,
    processEnv,
    log,
    capabilitiesDir,
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  installCrashHandler(desktop.paths.crashDir, DESKTOP_PROGRAM);
  // Listening for signals before the URL is out: whoever reads it may stop the host at once.
  const stopped = shutdownOnSignals(createShutdown({ app: desktop, logger: log, timeoutMs: 10_000 }));
  const windowUrl = desktop.windowUrl('main');
  if (!options.open) {
    // Exactly the URL, on a line of its own: scripts and tests read it.
    process.stdout.write(`${windowUrl}\n`);
  } else {
    const outcome = openWindow({
      url: windowUrl,
      profileDir: desktop.paths.browserProfileDir,
      env,
      processEnv,
    });
    if (outcome.opened)
      log.info({ opened: outcome.opened }, `opened the MultiClaw window at ${desktop.url}/`);
    else {
      process.stderr.write(`could not open a window (${outcome.why}); open this URL in a browser:\n`);
      process.stdout.write(`${windowUrl}\n`);
    }
  }
  return stopped;
}
