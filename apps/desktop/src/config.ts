import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const DEFAULT_DESKTOP_PORT = 18790;

/** The environment the host reads, parsed once (DESIGN.md §3a). */
const DesktopEnv = z.object({
  MULTICLAW_DESKTOP_PORT: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_DESKTOP_PORT),
  MULTICLAW_DESKTOP_STATE_DIR: z.string().min(1).optional(),
  /** Development and tests: another folder of capability files than apps/desktop/capabilities. */
  MULTICLAW_DESKTOP_CAPABILITIES_DIR: z.string().min(1).optional(),
  /** A browser to open the window with, instead of the first Chromium-family one on PATH. */
  MULTICLAW_BROWSER: z.string().min(1).optional(),
  HOME: z.string().optional(),
  PATH: z.string().default(''),
  DISPLAY: z.string().optional(),
  WAYLAND_DISPLAY: z.string().optional(),
  LOG_LEVEL: z.string().optional(),
});
export type DesktopEnv = z.infer<typeof DesktopEnv>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`the environment is not valid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

export function parseDesktopEnv(env: NodeJS.ProcessEnv): DesktopEnv {
  // An empty variable means "not set", as in the shell.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = DesktopEnv.safeParse(present);
  if (!result.success)
    throw new EnvError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  return result.data;
}

/** Everything the host keeps, under ~/.multiclaw/desktop unless MULTICLAW_DESKTOP_STATE_DIR says otherwise. */
export interface DesktopPaths {
  stateDir: string;
  /** The desktop's own settings (cloud URL, local-only mode); 0600. */
  settingsPath: string;
  /** Crash logs: never sent anywhere. */
  crashDir: string;
  /** The output of a gateway the host started. */
  logDir: string;
  /** The app window's own browser profile. */
  browserProfileDir: string;
  /** The cloud session's refresh token (rotated on use), its cloud and user; 0600. */
  cloudSessionPath: string;
  /** What the person exports from the cloud (their account's data, a workspace's audit log); 0600 files in 0700. */
  exportDir: string;
}

export function resolveDesktopPaths(env: DesktopEnv): DesktopPaths {
  const stateDir = resolve(
    env.MULTICLAW_DESKTOP_STATE_DIR ?? join(env.HOME || homedir(), '.multiclaw', 'desktop'),
  );
  return {
    stateDir,
    settingsPath: join(stateDir, 'settings.json'),
    crashDir: join(stateDir, 'crash'),
    logDir: join(stateDir, 'logs'),
    browserProfileDir: join(stateDir, 'browser-profile'),
    cloudSessionPath: join(stateDir, 'cloud-session.json'),
    exportDir: join(stateDir, 'exports'),
  };
}

/** The capability files shipped with the host (apps/desktop/capabilities), unless the environment names another folder. */
export function capabilitiesDirOf(env: DesktopEnv): string {
  return resolve(
    env.MULTICLAW_DESKTOP_CAPABILITIES_DIR ?? fileURLToPath(new URL('../capabilities', import.meta.url)),
  );
}

/** The built UI (apps/desktop/ui/dist), served when present. */
export const UI_DIST_DIR = fileURLToPath(new URL('../ui/dist', import.meta.url));
