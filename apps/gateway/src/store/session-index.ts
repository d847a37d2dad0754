import { ApiError, agentIdOfSessionKey, SessionKey, sessionKeyOf } from '@multiclaw/protocol';

/**
 * A conversation as `sessions.log` describes it: `id` names its messages file
 * (`messages/<id>.log`) and never changes; `key` is its address
 * (`agent:<agentId>:<name>`), which a reset moves to a new conversation.
 */
export interface SessionRecord {
  id: string;
  key: string;
  agentId: string;
  title: string;
  createdAt: string;
}

export interface SessionTombstone {
  id: string;
  deleted: true;
}

/** One record of `sessions.log`: the whole state of one id, replacing any earlier record of that id. */
export type SessionsLogRecord = SessionRecord | SessionTombstone;

/** A record written before session keys: no `id`, and `key` was the conversation's UUID. */
interface PreKeyRecord {
  key: string;
  agentId: string;
  title: string;
  createdAt: string;
}

/** Reads any record `sessions.log` has ever held as the current format (nothing is rewritten on disk). */
export function upgradeRecord(raw: SessionsLogRecord | PreKeyRecord): SessionsLogRecord {
  if ('id' in raw) return raw;
  return {
    id: raw.key,
    key: sessionKeyOf(raw.agentId, raw.key),
    agentId: raw.agentId,
    title: raw.title,
    createdAt: raw.createdAt,
  };
}

/**
 * The live conversations, findable by key or by id. An id is also what a
 * session was called before session keys (its old key), so old references
 * (idempotency entries, partial replies, clients' cursors) still find it.
 */
export class SessionIndex {
  private readonly byId = new Map<string, SessionRecord>();
  private readonly byKey = new Map<string, SessionRecord>();
  /** Ids deleted in this file, for removing what a crash left of their messages. */
  readonly deletedIds = new Set<string>();

  /**
   * Applies one record. A key held by another live conversation cannot come
   * from this store's writes (a reset re-keys the old conversation first);
   * should a hand-edited file hold one, the later record gets the key and the
   * earlier conversation its alias, in memory, reported through `onConflict`.
   */
  apply(record: SessionsLogRecord, onConflict: (message: string) => void = () => {}): void {
    const previous = this.byId.get(record.id);
    if (previous && this.byKey.get(previous.key) === previous) this.byKey.delete(previous.key);
    if ('deleted' in record) {
      this.byId.delete(record.id);
      this.deletedIds.add(record.id);
      return;
    }
    this.deletedIds.delete(record.id);
    const holder = this.byKey.get(record.key);
    if (holder && holder.id !== record.id) {
      const moved = { ...holder, key: this.aliasKeyOf(holder) };
      this.byId.set(moved.id, moved);
      this.byKey.set(moved.key, moved);
      onConflict(
        `sessions.log gives the key ${record.key} to two conversations; the earlier is now ${moved.key}`,
      );
    }
    this.byId.set(record.id, record);
    this.byKey.set(record.key, record);
  }

  /** Refuses a key that is not a session key, belongs to another agent, or is taken (VALIDATION_FAILED at `path`). */
  checkNewKey(record: SessionRecord, path: 'key' | 'agentId'): void {
    const refuse = (message: string, issue: string) => {
      throw new ApiError('VALIDATION_FAILED', message, { issues: [{ path, message: issue }] });
    };
    if (!SessionKey.safeParse(record.key).success)
      refuse(`"${record.key}" is not a session key`, '"agent:<agentId>:<name>", the name without spaces');
    const owner = agentIdOfSessionKey(record.key);
    if (owner !== record.agentId)
      refuse(
        `Session key "${record.key}" belongs to agent "${owner}", not "${record.agentId}"`,
        'another agent',
      );
    if (this.has(record.key))
      refuse(`A session with the key "${record.key}" already exists`, 'a session with this key exists');
  }

  /** The conversation with this key, else with this id (old session ids are ids). */
  resolve(ref: string): SessionRecord | undefined {
    return this.byKey.get(ref) ?? this.byId.get(ref);
  }

  has(keyOrId: string): boolean {
    return this.byKey.has(keyOrId) || this.byId.has(keyOrId);
  }

  all(): SessionRecord[] {
    return [...this.byId.values()];
  }

  /**
   * The key a conversation gets when its own key moves on: `agent:<agentId>:<id>`,
   * or `…:<id>:2`, `…:<id>:3`… when that is taken (an old session's key is exactly that).
   */
  aliasKeyOf(record: SessionRecord): string {
    const base = sessionKeyOf(record.agentId, record.id);
    let key = base;
    for (let n = 2; this.byKey.has(key); n++) key = `${base}:${n}`;
    return key;
  }
}
