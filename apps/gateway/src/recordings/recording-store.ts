import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiError,
  RecordedStep,
  type Recording,
  type RecordingStepsRequest,
  type RecordingSummary,
} from '@multiclaw/protocol';
import { appendRecordsAt, encodeRecord, loadRecordFile } from '../store/record-file.js';

/**
 * One recording as `index.log` describes it: each record is the whole state
 * of its id and replaces any earlier one; a tombstone forgets it.
 */
interface RecordingRecord {
  id: string;
  name: string;
  startedAt: string;
  pairingId: string;
  agentIds: string[];
}
type IndexRecord = RecordingRecord | { id: string; deleted: true };

interface Live extends RecordingRecord {
  stepCount: number;
  lastSeq: number;
  updatedAt: string;
  /** Bytes of valid records in its steps file: where the next append goes. */
  stepsSize: number;
}

export interface RecordingStoreLogger {
  warn(message: string): void;
}

/**
 * The gateway's browser recordings (docs/extension.md), in the local store's
 * record-file format, crash-safe like conversations: `recordings/index.log`
 * lists them, `recordings/steps/<id>.log` holds each one's steps, every
 * append fsync'd before it is acknowledged, a torn tail cut off at open.
 * Changes run one at a time. The store directory's lock (LocalStore) makes
 * this process the only writer.
 */
export class RecordingStore {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly live: Map<string, Live>,
    private indexSize: number,
    private readonly now: () => Date,
  ) {}

  static async open(
    dir: string,
    logger: RecordingStoreLogger,
    now: () => Date = () => new Date(),
  ): Promise<RecordingStore> {
    await mkdir(join(dir, 'steps'), { recursive: true, mode: 0o700 });
    const torn = (path: string) => (bytes: number) =>
      logger.warn(`recordings: dropped a torn record at the end of ${path} (${bytes} bytes)`);
    const indexPath = join(dir, 'index.log');
    const { records, size } = await loadRecordFile(indexPath, torn(indexPath));
    const latest = new Map<string, IndexRecord>();
    for (const record of records as IndexRecord[]) latest.set(record.id, record);
    const live = new Map<string, Live>();
    for (const record of latest.values()) {
      if ('deleted' in record) continue;
      const stepsPath = join(dir, 'steps', `${record.id}.log`);
      const steps = await loadRecordFile(stepsPath, torn(stepsPath));
      const last = steps.records.at(-1) as RecordedStep | undefined;
      live.set(record.id, {
        ...record,
        stepCount: steps.records.length,
        lastSeq: last?.seq ?? 0,
        updatedAt: last ? new Date(last.at).toISOString() : record.startedAt,
        stepsSize: steps.size,
      });
    }
    const store = new RecordingStore(dir, live, size, now);
    await store.removeDeletedLeftovers();
    return store;
  }

  /** Resolves once every change started so far has ended. */
  async close(): Promise<void> {
    await this.tail;
  }

  /**
   * Stores a batch from a paired extension: creates the recording on its
   * first batch; skips steps whose seq is stored already (a resend); refuses
   * a recording another pairing made (as if it did not exist).
   */
  appendSteps(recordingId: string, pairingId: string, batch: RecordingStepsRequest) {
    return this.mutate(async () => {
      let recording = this.live.get(recordingId);
      if (recording && recording.pairingId !== pairingId) throw notFound();
      if (!recording) {
        const startedAt = new Date(batch.startedAt).toISOString();
        const record: RecordingRecord = {
          id: recordingId,
          name: batch.name ?? `Recording of ${startedAt.slice(0, 16).replace('T', ' ')} UTC`,
          startedAt,
          pairingId,
          agentIds: [],
        };
        // Its steps file exists (0600) before the index names it.
        await (await open(this.stepsPath(recordingId), 'a', 0o600)).close();
        await this.appendIndex(record);
        recording = { ...record, stepCount: 0, lastSeq: 0, updatedAt: startedAt, stepsSize: 0 };
        this.live.set(recordingId, recording);
      }
      const fresh = [...batch.steps].sort((a, b) => a.seq - b.seq).filter(isAfter(recording.lastSeq));
      if (fresh.length) {
        const bytes = Buffer.concat(fresh.map((step) => encodeRecord(step)));
        await appendRecordsAt(this.stepsPath(recordingId), bytes, recording.stepsSize);
        const last = fresh.at(-1) as RecordedStep;
        Object.assign(recording, {
          stepsSize: recording.stepsSize + bytes.length,
          stepCount: recording.stepCount + fresh.length,
          lastSeq: last.seq,
          updatedAt: this.now().toISOString(),
        });
      }
      return { recordingId, lastSeq: recording.lastSeq, stored: fresh.length };
    });
  }

  /** Newest first. */
  list(): RecordingSummary[] {
    return [...this.live.values()]
      .map(summaryOf)
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<Recording> {
    const recording = this.require(id);
    // Read inside the queue: never while an append to this file is half done.
    const steps = await this.mutate(async () => {
      const { records } = await loadRecordFile(this.stepsPath(id), () => {});
      return records.map((record) => RecordedStep.parse(record));
    });
    return { ...summaryOf(recording), steps };
  }

  rename(id: string, name: string): Promise<RecordingSummary> {
    return this.change(id, (record) => ({ ...record, name }));
  }

  attach(id: string, agentId: string): Promise<RecordingSummary> {
    return this.change(id, (record) => ({
      ...record,
      agentIds: record.agentIds.includes(agentId) ? record.agentIds : [...record.agentIds, agentId],
    }));
  }

  detach(id: string, agentId: string): Promise<RecordingSummary> {
    return this.change(id, (record) => ({
      ...record,
      agentIds: record.agentIds.filter((attached) => attached !== agentId),
    }));
  }

  /** Forgets the recording and removes its steps (a crash in between: removed at the next open). */
  delete(id: string): Promise<{ id: string; deleted: true }> {
    return this.mutate(async () => {
      this.require(id);
      await this.appendIndex({ id, deleted: true });
      this.live.delete(id);
      await this.removeSteps(id);
      return { id, deleted: true as const };
    });
  }

  /** The recordings attached to an agent as skills, oldest first (the order they are shown to the model). */
  async attachedTo(agentId: string): Promise<Recording[]> {
    const ids = [...this.live.values()]
      .filter((recording) => recording.agentIds.includes(agentId))
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
      .map((recording) => recording.id);
    return Promise.all(ids.map((id) => this.get(id)));
  }

  private change(id: string, edit: (record: RecordingRecord) => RecordingRecord) {
    return this.mutate(async () => {
      const current = this.require(id);
      const { stepCount, lastSeq, updatedAt, stepsSize, ...record } = current;
      const next = edit(record);
      await this.appendIndex(next);
      Object.assign(current, next);
      return summaryOf(current);
    });
  }

  private require(id: string): Live {
    const recording = this.live.get(id);
    if (!recording) throw notFound();
    return recording;
  }

  private async appendIndex(record: IndexRecord): Promise<void> {
    const bytes = encodeRecord(record);
    await appendRecordsAt(join(this.dir, 'index.log'), bytes, this.indexSize);
    this.indexSize += bytes.length;
  }

  private stepsPath(id: string): string {
    return join(this.dir, 'steps', `${id}.log`);
  }

  private mutate<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.catch(() => {});
    return run;
  }

  private async removeDeletedLeftovers(): Promise<void> {
    for (const name of await readdir(join(this.dir, 'steps'))) {
      const id = name.slice(0, -'.log'.length);
      if (name.endsWith('.log') && !this.live.has(id)) await this.removeSteps(id);
    }
  }

  private async removeSteps(id: string): Promise<void> {
    await unlink(this.stepsPath(id)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}

const isAfter = (lastSeq: number) => {
  let previous = lastSeq;
  return (step: RecordedStep) => {
    if (step.seq <= previous) return false;
    previous = step.seq;
    return true;
  };
};

function summaryOf(recording: Live): RecordingSummary {
  return {
    id: recording.id,
    name: recording.name,
    startedAt: recording.startedAt,
    updatedAt: recording.updatedAt,
    stepCount: recording.stepCount,
    agentIds: [...recording.agentIds],
    pairingId: recording.pairingId,
  };
}

function notFound(): ApiError {
  return new ApiError('NOT_FOUND', 'No such recording');
}
