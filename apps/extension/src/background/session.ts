import type { RecordedStep } from '@multiclaw/protocol';
import type { SessionBroadcast } from '../shared/messages.js';
import { DEFAULT_SETTINGS, KEYS, type SessionState, type Settings } from '../shared/state.js';
import { enqueue } from './outbox.js';
import { serial } from './serial.js';

const exclusive = serial();

/** The session lives in storage.session: a restarted worker finds it there, a browser restart ends it. */
export async function readSession(): Promise<SessionState> {
  const stored = await chrome.storage.session.get(KEYS.session);
  return (stored[KEYS.session] as SessionState | undefined) ?? { active: false };
}

export async function readSettings(): Promise<Settings> {
  const stored = await chrome.storage.local.get(KEYS.settings);
  return { ...DEFAULT_SETTINGS, ...(stored[KEYS.settings] as Partial<Settings> | undefined) };
}

export async function start(name?: string): Promise<SessionState> {
  const session = await exclusive(async () => {
    const current = await readSession();
    if (current.active) return current;
    const startedAt = Date.now();
    const next: SessionState = {
      active: true,
      recordingId: crypto.randomUUID(),
      startedAt,
      name: name?.trim() || `Recording of ${new Date(startedAt).toLocaleString()}`,
      nextSeq: 1,
    };
    await chrome.storage.session.set({ [KEYS.session]: next });
    return next;
  });
  await showBadge(true);
  await broadcast(true);
  return session;
}

/** The session ends before anything else happens: a step arriving from now on is dropped. */
export async function stop(): Promise<void> {
  await exclusive(() => chrome.storage.session.set({ [KEYS.session]: { active: false } }));
  await showBadge(false);
  await broadcast(false);
}

/**
 * Numbers and queues a step, if and only if a session is active now (the
 * content script checked too; this is the authority). The seq is taken
 * before the step is queued, so a worker stopped in between leaves a gap,
 * never two steps with one number.
 */
export function record(step: Omit<RecordedStep, 'seq'> & { kind: RecordedStep['kind'] }): Promise<boolean> {
  return exclusive(async () => {
    const session = await readSession();
    if (!session.active) return false;
    const seq = session.nextSeq;
    await chrome.storage.session.set({ [KEYS.session]: { ...session, nextSeq: seq + 1 } });
    await enqueue({
      recordingId: session.recordingId,
      name: session.name,
      startedAt: session.startedAt,
      queuedAt: Date.now(),
      step: { ...step, seq } as RecordedStep,
    });
    return true;
  });
}

/** REC on the toolbar icon of every tab while a session is active. */
export async function showBadge(active: boolean): Promise<void> {
  await chrome.action.setBadgeBackgroundColor({ color: '#b00020' });
  await chrome.action.setBadgeText({ text: active ? 'REC' : '' });
  await chrome.action.setTitle({ title: active ? 'MultiClaw: recording' : 'MultiClaw recorder' });
}

/** Tells every frame of every tab; tabs without the content script (chrome://, the store) just do not answer. */
export async function broadcast(active: boolean): Promise<void> {
  const message: SessionBroadcast = {
    type: 'session',
    active,
    crossOriginFrames: (await readSettings()).crossOriginFrames,
  };
  const tabs = await chrome.tabs.query({});
  await Promise.all(
    tabs.map((tab) =>
      tab.id === undefined ? undefined : chrome.tabs.sendMessage(tab.id, message).catch(() => undefined),
    ),
  );
}
