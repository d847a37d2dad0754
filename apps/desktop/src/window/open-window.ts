import { findOnPath, launchDetached } from '../system/processes.js';

/** Chromium-family browsers that take `--app=URL` (an app window without tabs or address bar), in order of preference. */
export const APP_MODE_BROWSERS = [
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
  'brave-browser',
  'microsoft-edge',
  'microsoft-edge-stable',
] as const;

export type WindowOutcome =
  | { opened: 'app'; browser: string }
  | { opened: 'default browser'; opener: string }
  | { opened: false; why: string };

export interface OpenWindowOptions {
  url: string;
  profileDir: string;
  env: {
    PATH: string;
    MULTICLAW_BROWSER?: string | undefined;
    DISPLAY?: string | undefined;
    WAYLAND_DISPLAY?: string | undefined;
  };
  processEnv: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

/**
 * Opens the window: a Chromium-family browser in app mode with its own
 * profile under the state directory (MULTICLAW_BROWSER, else the first on
 * PATH), else the default browser (xdg-open, open). Without a display it
 * opens nothing: the caller prints the URL.
 */
export function openWindow(options: OpenWindowOptions): WindowOutcome {
  const platform = options.platform ?? process.platform;
  if (platform === 'linux' && !options.env.DISPLAY && !options.env.WAYLAND_DISPLAY)
    return { opened: false, why: 'no display (DISPLAY and WAYLAND_DISPLAY are unset)' };
  const browser = findOnPath(
    options.env.MULTICLAW_BROWSER ? [options.env.MULTICLAW_BROWSER] : APP_MODE_BROWSERS,
    options.env.PATH,
  );
  if (browser) {
    launchDetached(browser, appModeArgs(options.url, options.profileDir), { env: options.processEnv });
    return { opened: 'app', browser };
  }
  const opener = findOnPath(platform === 'darwin' ? ['open'] : ['xdg-open'], options.env.PATH);
  if (opener) {
    launchDetached(opener, [options.url], { env: options.processEnv });
    return { opened: 'default browser', opener };
  }
  return { opened: false, why: 'no Chromium-family browser and no xdg-open on PATH' };
}

export function appModeArgs(url: string, profileDir: string): string[] {
  return [`--app=${url}`, `--user-data-dir=${profileDir}`, '--no-first-run', '--no-default-browser-check'];
}
