import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExtensionPairingSummary } from '@multiclaw/protocol';
import { appendRecordsAt, encodeRecord, loadRecordFile } from '../store/record-file.js';

/** The one thing an extension token can do (docs/extension.md). */
export const EXTENSION_SCOPE = 'recordings:write';

interface PairingRecord {
  id: string;
  origin: string;
  /** sha256 of the token: the token itself is shown once and never stored. */
  tokenHash: string;
  pairedAt: string;
}
type PairingsLogRecord = PairingRecord | { id: string; revoked: true };

export interface ExtensionPairing {
  id: string;
  origin: string;
}

/**
 * The paired browser extensions and their tokens, in a record file
 * (`<store>/extension/pairings.log`, 0600, fsync'd, the store's format).
 * A token is checked by its hash against the live pairings in memory, so
 * a revoke takes effect for the very next request.
 */
export class ExtensionPairings {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly byId: Map<string, PairingRecord>,
    private size: number,
    private readonly now: () => Date,
  ) {}

  static async open(
    storeDir: string,
    logger: { warn(message: string): void },
    now: () => Date = () => new Date(),
  ): Promise<ExtensionPairings> {
    await mkdir(join(storeDir, 'extension'), { recursive: true, mode: 0o700 });
    const path = join(storeDir, 'extension', 'pairings.log');
    const { records, size } = await loadRecordFile(path, (bytes) =>
      logger.warn(`extension: dropped a torn record at the end of ${path} (${bytes} bytes)`),
    );
    const byId = new Map<string, PairingRecord>();
    for (const record of records as PairingsLogRecord[]) {
      if ('revoked' in record) byId.delete(record.id);
      else byId.set(record.id, record);
    }
    return new ExtensionPairings(path, byId, size, now);
  }

  /**
   * A new token for the extension at `origin`. An extension pairs once: an
   * earlier pairing of the same origin is revoked in the same write.
   */
  pair(origin: string): Promise<{ pairing: ExtensionPairing; token: string; replaced: string[] }> {
    return this.mutate(async () => {
      const token = `mcx_${randomBytes(32).toString('base64url')}`;
      const record: PairingRecord = {
        id: randomUUID(),
        origin,
        tokenHash: hashOf(token),
        pairedAt: this.now().toISOString(),
      };
      const replaced = [...this.byId.values()]
        .filter((live) => live.origin === origin)
        .map((live) => live.id);
      await this.append([...replaced.map((id) => ({ id, revoked: true as const })), record]);
      for (const id of replaced) this.byId.delete(id);
      this.byId.set(record.id, record);
      return { pairing: { id: record.id, origin }, token, replaced };
    });
  }

  /** The live pairing this token belongs to, or undefined (unknown, revoked, or never a token). */
  verify(token: string | undefined): ExtensionPairing | undefined {
    if (!token) return undefined;
    const hash = hashOf(token);
    for (const record of this.byId.values())
      if (record.tokenHash === hash) return { id: record.id, origin: record.origin };
    return undefined;
  }

  list(): ExtensionPairingSummary[] {
    return [...this.byId.values()].map(({ id, origin, pairedAt }) => ({ id, origin, pairedAt }));
  }

  /** Whether any live pairing holds this origin (the control protocol refuses it). */
  hasOrigin(origin: string): boolean {
    return [...this.byId.values()].some((record) => record.origin === origin);
  }

  /** Revokes at once; answers the revoked pairing, or undefined when there was none. */
  revoke(id: string): Promise<ExtensionPairing | undefined> {
    return this.mutate(async () => {
      const record = this.byId.get(id);
      if (!record) return undefined;
      // Forgotten in memory first: no request is served with it while the record is written.
      this.byId.delete(id);
      await this.append([{ id, revoked: true }]);
      return { id, origin: record.origin };
    });
  }

  async close(): Promise<void> {
    await this.tail;
  }

  private async append(records: PairingsLogRecord[]): Promise<void> {
    const bytes = Buffer.concat(records.map((record) => encodeRecord(record)));
    await appendRecordsAt(this.path, bytes, this.size);
    this.size += bytes.length;
  }

  private mutate<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.catch(() => {});
    return run;
  }
}

/** Tokens are 256 random bits: a plain hash is enough to store and to compare them by. */
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
