import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_VERSION } from './version.js';

/**
 * Writes a crash report into the state directory (0600) and nowhere else:
 * the gateway has no telemetry and never reports crashes over the network.
 */
export function writeCrashLog(crashDir: string, error: unknown, now = new Date()): string {
  mkdirSync(crashDir, { recursive: true, mode: 0o700 });
  const path = join(crashDir, `crash-${now.toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  const report = [
    `MultiClaw gateway ${GATEWAY_VERSION} crashed at ${now.toISOString()}`,
    `node ${process.version} ${process.platform}/${process.arch} pid ${process.pid}`,
    '',
    detail,
    '',
  ].join('\n');
  writeFileSync(path, report, { mode: 0o600, flag: 'wx' });
  return path;
}

/** On an uncaught error: write the crash log, say where it is, exit 70 (EX_SOFTWARE). */
export function installCrashHandler(crashDir: string, onCrash: (path: string) => void = () => {}): void {
  const crash = (error: unknown) => {
    try {
      const path = writeCrashLog(crashDir, error);
      process.stderr.write(`multiclaw-gateway crashed; details in ${path}\n`);
      onCrash(path);
    } finally {
      process.exit(70);
    }
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
