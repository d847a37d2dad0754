import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { scanRecordFile } from './record-file.js';

export interface DamagedFile {
  path: string;
  /** Where the first bad record starts; undefined when the file could not be read at all. */
  offset: number | undefined;
  detail: string;
}

/**
 * Finds the store's damaged record files without changing anything (for
 * `doctor`, which may run beside a live gateway): `sessions.log`, which stops
 * the gateway from starting, and each conversation's log, which makes only
 * that conversation unreadable.
 */
export async function findDamagedStoreFiles(storeDir: string): Promise<DamagedFile[]> {
  const files = [join(storeDir, 'sessions.log')];
  const messagesDir = join(storeDir, 'messages');
  for (const name of (await readdir(messagesDir).catch(() => [] as string[])).sort())
    if (name.endsWith('.log')) files.push(join(messagesDir, name));
  const damaged: DamagedFile[] = [];
  for (const path of files) {
    try {
      const { damagedAt } = await scanRecordFile(path);
      if (damagedAt !== undefined)
        damaged.push({ path, offset: damagedAt, detail: `a record at byte ${damagedAt} fails its checksum` });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        damaged.push({
          path,
          offset: undefined,
          detail: `cannot be read (${code ?? (error as Error).message})`,
        });
    }
  }
  return damaged;
}
