import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a crash report into the state directory (0600) and nowhere else:
 * the desktop has no telemetry and never reports crashes over the network.
 */
export function writeCrashLog(crashDir: string, version: string, error: unknown, now = new Date()): string {
  mkdirSync(crashDir, { recursive: true, mode: 0o700 });
  const path = join(crashDir, `crash-${now.toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  const report = [
    `MultiClaw desktop ${version} crashed at ${now.toISOString()}`,
    `node ${process.version} ${process.platform}/${process.arch} pid ${process.pid}`,
    '',
    detail,
    '',
  ].join('\n');
  writeFileSync(path, report, { mode: 0o600, flag: 'wx' });
  return path;
}

/** The crash logs in a directory, newest first (names only). */
export function listCrashLogs(crashDir: string): string[] {
  try {
    return readdirSync(crashDir)
      .filter((name) => name.startsWith('crash-') && name.endsWith('.log'))
      .sort()
      .reverse();
  } catch {
    return [];
  }
}
