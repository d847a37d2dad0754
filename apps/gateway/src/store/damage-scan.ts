import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { scanRecordFile } from './record-file.js';

export interface DamagedFile {
  path: string;
  detail: string;
  /** The gateway refuses to start on it (the conversation list, the idempotency keys). */
  blocksStart: boolean;
}

/**
 * Finds the store's damaged record files without changing anything (for
 * `doctor`, which may run beside a live gateway): `sessions.log` and
 * `idempotency.log`, which stop the gateway from starting, and each
 * conversation's log, which makes only that conversation unreadable.
 */
export async function findDamagedStoreFiles(storeDir: string): Promise<DamagedFile[]> {
  const startFiles = [join(storeDir, 'sessions.log'), join(storeDir, 'idempotency.log')];
  const messagesDir = join(storeDir, 'messages');
  const conversations = (await readdir(messagesDir).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => join(messagesDir, name));
  const damaged: DamagedFile[] = [];
  for (const path of [...startFiles, ...conversations]) {
    const detail = await damageOf(path);
    if (detail) damaged.push({ path, detail, blocksStart: startFiles.includes(path) });
  }
  return damaged;
}

async function damageOf(path: string): Promise<string | undefined> {
  try {
    const { damagedAt } = await scanRecordFile(path);
    return damagedAt === undefined ? undefined : `a record at byte ${damagedAt} fails its checksum`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : `cannot be read (${code ?? (error as Error).message})`;
  }
}
