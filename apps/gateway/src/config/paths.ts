import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** Where the gateway keeps everything (DESIGN.md §3a: all of it under $HOME or an explicit variable). */
export interface GatewayPaths {
  stateDir: string;
  configPath: string;
  /** Conversations, messages and (later) recordings and the sync outbox. */
  storeDir: string;
  /** Crash logs; never sent anywhere. */
  crashDir: string;
}

export function resolveGatewayPaths(env: NodeJS.ProcessEnv = process.env): GatewayPaths {
  const stateDir = resolve(env.OPENCLAW_STATE_DIR || join(env.HOME || homedir(), '.openclaw'));
  const configPath = resolve(env.OPENCLAW_CONFIG_PATH || join(stateDir, 'openclaw.json'));
  return { stateDir, configPath, storeDir: join(stateDir, 'store'), crashDir: join(stateDir, 'crash') };
}

/** The directories that must exist, 0700, before anything is written. */
export function privateDirectories(paths: GatewayPaths): string[] {
  return [...new Set([paths.stateDir, dirname(paths.configPath), paths.storeDir, paths.crashDir])];
}
