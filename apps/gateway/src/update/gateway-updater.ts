import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFeedUrl, parsePublicKey, type UpdaterOptions } from '@multiclaw/updater';
import type { GatewayPaths } from '../config/paths.js';
import { createEgress } from '../egress/egress.js';
import { GATEWAY_VERSION } from '../version.js';
import { PINNED_RELEASE_KEYS } from './release-keys.js';
import type { UpdateConfig } from './update-config.js';

/**
 * The gateway's installed copy (docs/releasing.md): <state dir>/versions/<version>/multiclaw-gateway.mjs,
 * `current` pointing at the one bin/multiclaw-gateway.mjs runs, `previous` at the one a failed start restores.
 */
export const GATEWAY_PRODUCT = 'gateway';
export const GATEWAY_ENTRY = 'multiclaw-gateway.mjs';
export const versionsDir = (paths: GatewayPaths) => join(paths.stateDir, 'versions');

/**
 * The launcher the probe starts, as a person's `multiclaw-gateway` would be:
 * the one that started this process when there is one (an installed copy under
 * versions/ has no bin/ beside it), else this checkout's.
 */
const LAUNCHER = process.argv[1]?.endsWith('multiclaw-gateway.mjs')
  ? process.argv[1]
  : fileURLToPath(new URL('../../bin/multiclaw-gateway.mjs', import.meta.url));
/** A loaded 2-core machine may take a while to start node; a hung new version must not hang the update. */
const START_PROBE_TIMEOUT_MS = 60_000;

export class UpdateNotConfiguredError extends Error {
  constructor(configPath: string) {
    super(
      `No update feed is configured. Add "update": {"feed": "https://…"} to ${configPath} (docs/releasing.md); nothing is contacted until you do.`,
    );
    this.name = 'UpdateNotConfiguredError';
  }
}

export interface GatewayUpdaterDeps {
  paths: GatewayPaths;
  update: UpdateConfig | undefined;
  /** The environment the probe starts the new version with (its HOME and state directory). */
  env: NodeJS.ProcessEnv;
  warn: (message: string) => void;
  now?: () => Date;
  platform?: string;
}

/**
 * What the updater needs, from the gateway's config: the feed (the egress lets
 * through its origin and nothing else), the pinned keys (or the config's own),
 * the installed copy under the state directory, and a start probe that runs
 * the launcher and expects the new version to answer.
 */
export function gatewayUpdaterOptions(deps: GatewayUpdaterDeps): UpdaterOptions {
  const { update, paths } = deps;
  if (!update) throw new UpdateNotConfiguredError(paths.configPath);
  const feedOrigin = parseFeedUrl(update.feed).origin;
  const egress = createEgress({
    allowedOrigins: () => [feedOrigin],
    log: { warn: (_obj, message) => deps.warn(message) },
  });
  return {
    fetch: (url, init) => egress.fetch(url, init),
    feedUrl: update.feed,
    product: GATEWAY_PRODUCT,
    channel: update.channel,
    platform: deps.platform ?? `${process.platform}-${process.arch}`,
    runningVersion: GATEWAY_VERSION,
    trustedKeys: (update.publicKeys ?? PINNED_RELEASE_KEYS).map(parsePublicKey),
    installRoot: versionsDir(paths),
    entryName: GATEWAY_ENTRY,
    startProbe: (_entry, version) =>
      probeLauncher(version, { ...deps.env, OPENCLAW_STATE_DIR: paths.stateDir }),
    now: deps.now ?? (() => new Date()),
  };
}

/**
 * Starts `multiclaw-gateway --version` through the launcher, which runs
 * versions/current: the new version must load and answer its own version,
 * exit 0, within the time limit.
 */
export function probeLauncher(version: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { MULTICLAW_GATEWAY_RUN: _forced, ...launcherEnv } = env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, '--version'], {
      env: launcherEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: START_PROBE_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const answered = stdout.trim();
      if (code === 0 && answered === version) return resolve();
      const why = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
      const said = answered ? `, saying "${answered.slice(0, 80)}"` : '';
      // The error line, not the stack under it, is what a person can act on.
      const lines = stderr.split('\n').map((line) => line.trim());
      const tail = lines.find((line) => /^\w*Error\b/.test(line)) ?? lines.filter(Boolean).at(-1) ?? '';
      reject(new Error(`it ${why}${said}${tail ? ` (${tail})` : ''}`));
    });
  });
}
