import type { RecordedStep } from '@multiclaw/protocol';
import {
  type DeliveryState,
  INITIAL_DELIVERY,
  KEYS,
  OUTBOX_MAX_AGE_MS,
  type OutboxItem,
} from '../shared/state.js';
import { serial } from './serial.js';

const exclusive = serial();

async function read(): Promise<OutboxItem[]> {
  const stored = await chrome.storage.local.get(KEYS.outbox);
  return (stored[KEYS.outbox] as OutboxItem[] | undefined) ?? [];
}

/** Every step is on disk (storage.local) before anything tries to send it: a worker restart loses nothing. */
export function enqueue(item: OutboxItem): Promise<void> {
  return exclusive(async () => {
    await chrome.storage.local.set({ [KEYS.outbox]: [...(await read()), item] });
  });
}

export function pendingCount(): Promise<number> {
  return read().then((items) => items.length);
}

/** Drops steps that waited longer than 7 days; counts them in the delivery state. */
export function dropExpired(now: number): Promise<number> {
  return exclusive(async () => {
    const items = await read();
    const kept = items.filter((item) => now - item.queuedAt < OUTBOX_MAX_AGE_MS);
    const dropped = items.length - kept.length;
    if (dropped === 0) return 0;
    const delivery = await readDelivery();
    await chrome.storage.local.set({
      [KEYS.outbox]: kept,
      [KEYS.delivery]: { ...delivery, dropped: delivery.dropped + dropped, droppedAt: now },
    });
    return dropped;
  });
}

/** The next batch: the oldest recording's steps, in seq order, at most `max`. */
export async function nextBatch(max: number) {
  const items = await read();
  const first = items[0];
  if (!first) return undefined;
  const steps: RecordedStep[] = items
    .filter((item) => item.recordingId === first.recordingId)
    .map((item) => item.step)
    .sort((a, b) => a.seq - b.seq)
    .slice(0, max);
  return { recordingId: first.recordingId, name: first.name, startedAt: first.startedAt, steps };
}

/** Forgets what the gateway acknowledged: the recording's steps up to `lastSeq`. */
export function acknowledge(recordingId: string, lastSeq: number): Promise<void> {
  return exclusive(async () => {
    const items = await read();
    await chrome.storage.local.set({
      [KEYS.outbox]: items.filter((item) => item.recordingId !== recordingId || item.step.seq > lastSeq),
    });
  });
}

export async function readDelivery(): Promise<DeliveryState> {
  const stored = await chrome.storage.local.get(KEYS.delivery);
  return (stored[KEYS.delivery] as DeliveryState | undefined) ?? INITIAL_DELIVERY;
}

export function setDelivery(change: Partial<DeliveryState>): Promise<void> {
  return exclusive(async () => {
    await chrome.storage.local.set({ [KEYS.delivery]: { ...(await readDelivery()), ...change } });
  });
}
