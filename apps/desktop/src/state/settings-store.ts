import { readFile } from 'node:fs/promises';
import { DesktopSettings } from '@multiclaw/protocol';
import { writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import type { z } from 'zod';

/** What settings.json holds: the desktop's own settings (the gateway's live in openclaw.json). */
export const StoredSettings = DesktopSettings.pick({ cloudUrl: true, localOnly: true });
export type StoredSettings = z.infer<typeof StoredSettings>;

const DEFAULTS: StoredSettings = { cloudUrl: null, localOnly: false };

/** The desktop's settings file: 0600 in the 0700 state directory, written atomically. */
export class SettingsStore {
  constructor(
    private readonly path: string,
    private readonly warn: (message: string) => void,
  ) {}

  /** The stored settings; a missing file is the defaults, an invalid one is reported and replaced on the next write. */
  async read(): Promise<StoredSettings> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...DEFAULTS };
      throw error;
    }
    try {
      return StoredSettings.parse(JSON.parse(text));
    } catch {
      this.warn(`${this.path} is not valid desktop settings; using the defaults until the next change`);
      return { ...DEFAULTS };
    }
  }

  async update(change: Partial<StoredSettings>): Promise<StoredSettings> {
    const next = StoredSettings.parse({ ...(await this.read()), ...change });
    await writePrivateFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`);
    return next;
  }
}
