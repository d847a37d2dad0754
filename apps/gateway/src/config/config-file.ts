import { mkdir, readFile, stat } from 'node:fs/promises';
import { removeStaleTempFiles, writeFileAtomic } from '@multiclaw/runtime/atomic-write';
import { withFileLock } from '@multiclaw/runtime/file-lock';
import type { GatewayPaths } from './paths.js';
import { privateDirectories } from './paths.js';
import { ConfigError, defaultGatewayConfig, GatewayConfig, parseGatewayConfig } from './schema.js';
import { replaceSymlinkedConfig } from './symlinked-config.js';

export function serializeConfig(config: GatewayConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

export async function ensurePrivateDirectories(paths: GatewayPaths): Promise<void> {
  for (const dir of privateDirectories(paths)) await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Reads and validates the config; `undefined` when the file does not exist. */
export async function readConfigFile(paths: GatewayPaths): Promise<GatewayConfig | undefined> {
  let text: string;
  try {
    text = await readFile(paths.configPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseGatewayConfig(paths.configPath, text);
}

/**
 * The gateway's view of `openclaw.json`. `current()` notices when another
 * process (`token rotate`, an editor) replaced the file and re-reads it; an
 * invalid edit keeps the last good config and reports why. `update()` is a
 * locked read-modify-write, so concurrent writers never lose each other's change.
 */
export class ConfigFile {
  private constructor(
    readonly paths: GatewayPaths,
    private config: GatewayConfig,
    private signature: string,
    private readonly onReloadError: (error: Error) => void,
  ) {}

  static async open(
    paths: GatewayPaths,
    options: {
      onCreated?: (path: string) => void;
      onReloadError?: (error: Error) => void;
      /** Refuse a symlinked config instead of replacing it with a private copy (symlinked-config.ts). */
      strict?: boolean;
      warn?: (message: string) => void;
    } = {},
  ): Promise<ConfigFile> {
    await ensurePrivateDirectories(paths);
    await replaceSymlinkedConfig(paths, {
      strict: options.strict ?? false,
      warn: options.warn ?? ((message) => process.stderr.write(`${message}\n`)),
    });
    await removeStaleTempFiles(paths.configPath);
    let config = await readConfigFile(paths);
    if (!config) {
      config = await withFileLock(lockPathOf(paths), async () => {
        const again = await readConfigFile(paths);
        if (again) return again;
        const created = defaultGatewayConfig();
        await writeFileAtomic(paths.configPath, serializeConfig(created));
        options.onCreated?.(paths.configPath);
        return created;
      });
    }
    return new ConfigFile(
      paths,
      config,
      await signatureOf(paths.configPath),
      options.onReloadError ?? (() => {}),
    );
  }

  /** The latest valid config. Costs one stat() when nothing changed. */
  async current(): Promise<GatewayConfig> {
    const signature = await signatureOf(this.paths.configPath);
    if (signature !== this.signature) {
      this.signature = signature;
      try {
        const reloaded = await readConfigFile(this.paths);
        if (reloaded) this.config = reloaded;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        this.onReloadError(error);
      }
    }
    return this.config;
  }

  /** The config as last loaded, without checking the file (for hot paths that tolerate a stale view). */
  cached(): GatewayConfig {
    return this.config;
  }

  async update(mutate: (config: GatewayConfig) => GatewayConfig): Promise<GatewayConfig> {
    return withFileLock(lockPathOf(this.paths), async () => {
      const onDisk = (await readConfigFile(this.paths)) ?? this.config;
      const next = GatewayConfig.parse(mutate(structuredClone(onDisk)));
      await writeFileAtomic(this.paths.configPath, serializeConfig(next));
      this.config = next;
      this.signature = await signatureOf(this.paths.configPath);
      return next;
    });
  }
}

export const lockPathOf = (paths: GatewayPaths) => `${paths.configPath}.lock`;

async function signatureOf(path: string): Promise<string> {
  const info = await stat(path, { bigint: true }).catch(() => undefined);
  return info ? `${info.ino}:${info.size}:${info.mtimeNs}` : 'missing';
}
