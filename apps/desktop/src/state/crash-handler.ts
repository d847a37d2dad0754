import { DESKTOP_VERSION } from '../version.js';
import { writeCrashLog } from './crash-log.js';

/** On an uncaught error: write the crash log (local only), say where it is, exit 70 (EX_SOFTWARE). */
export function installCrashHandler(crashDir: string): void {
  const crash = (error: unknown) => {
    try {
      process.stderr.write(
        `multiclaw-desktop crashed; details in ${writeCrashLog(crashDir, DESKTOP_VERSION, error)}\n`,
      );
    } finally {
      process.exit(70);
    }
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
