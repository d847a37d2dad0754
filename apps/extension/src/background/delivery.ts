import type { RecordingStepsResponse } from '@multiclaw/protocol';
import { acknowledge, dropExpired, nextBatch, setDelivery } from './outbox.js';
import { gatewayUrl, readPairing } from './pairing.js';

/** The gateway takes at most 500 steps per request (MAX_STEPS_PER_BATCH). */
const BATCH = 500;
/** A new step waits this long for others to join its batch: delivery stays well within 2 s. */
export const BATCH_DELAY_MS = 300;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

let timer: ReturnType<typeof setTimeout> | undefined;
let running: Promise<void> | undefined;
let again = false;
let retryMs = RETRY_MIN_MS;

/** Delivers soon (a batch gathers for BATCH_DELAY_MS). */
export function scheduleFlush(delayMs = BATCH_DELAY_MS): void {
  if (timer) return;
  timer = setTimeout(() => {
    timer = undefined;
    void flush();
  }, delayMs);
}

/**
 * Sends the outbox, oldest recording first, until it is empty or the gateway
 * cannot take more; a failure retries with backoff (and the 30 s alarm wakes a
 * worker that was stopped meanwhile). One flush at a time.
 */
export function flush(): Promise<void> {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    try {
      do {
        again = false;
        await deliverAll();
      } while (again);
    } finally {
      running = undefined;
    }
  })();
  return running;
}

async function deliverAll(): Promise<void> {
  await dropExpired(Date.now());
  const pairing = await readPairing();
  for (let batch = await nextBatch(BATCH); batch; batch = await nextBatch(BATCH)) {
    if (!pairing) return setDelivery({ state: 'not paired', detail: 'Pair with the gateway to deliver' });
    await setDelivery({ state: 'delivering' });
    let response: Response;
    try {
      response = await fetch(
        gatewayUrl(pairing.port, `/v1/extension/recordings/${batch.recordingId}/steps`),
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${pairing.token}` },
          body: JSON.stringify({ name: batch.name, startedAt: batch.startedAt, steps: batch.steps }),
          credentials: 'omit',
        },
      );
    } catch {
      await setDelivery({ state: 'gateway unreachable', detail: `Nothing answers on port ${pairing.port}` });
      return retryLater();
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as {
        error?: { code?: string; message?: string };
      };
      const unpaired = body.error?.code === 'EXTENSION_TOKEN_INVALID';
      await setDelivery({
        state: unpaired ? 'not paired' : 'refused',
        detail: body.error?.message ?? `HTTP ${response.status}`,
      });
      return unpaired ? undefined : retryLater();
    }
    const acked = (await response.json()) as RecordingStepsResponse;
    await acknowledge(batch.recordingId, acked.lastSeq);
    retryMs = RETRY_MIN_MS;
    await setDelivery({ state: 'delivered', detail: '', lastDeliveredAt: Date.now() });
  }
}

function retryLater(): void {
  scheduleFlush(retryMs);
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
}
