import { describe, expect, it } from 'vitest';
import { LinkUnavailableError } from './cloud-link.js';
import { PendingRequests, REQUEST_TIMEOUT_MS } from './pending-requests.js';

/** Timers fired by hand: `fire` runs every callback due at `ms`. */
function manualTimers() {
  const due = new Map<number, { ms: number; callback: () => void }>();
  let next = 0;
  return {
    setTimeout: (callback: () => void, ms: number) => {
      next += 1;
      due.set(next, { ms, callback });
      return next;
    },
    clearTimeout: (handle: unknown) => {
      due.delete(handle as number);
    },
    fire(ms: number) {
      for (const [handle, timer] of due) {
        if (timer.ms <= ms) {
          due.delete(handle);
          timer.callback();
        }
      }
    },
    get waiting() {
      return due.size;
    },
  };
}

describe('the link’s pending requests', () => {
  it('resolve with their own reply only; a reply with an unknown id answers nothing', async () => {
    const timers = manualTimers();
    const pending = new PendingRequests(timers);
    let sentId = '';
    const ack = pending.open('sync.batch', (id) => {
      sentId = id;
    });
    expect(pending.settle({ type: 'sync.ack', id: 'someone-else', payload: { acks: [] } })).toBe(false);
    expect(pending.settle({ type: 'sync.ack', id: sentId, payload: { acks: [] } })).toBe(true);
    await expect(ack).resolves.toEqual({ acks: [] });
    expect(timers.waiting).toBe(0);
    // Settled once: a repeat of the reply is not matched again.
    expect(pending.settle({ type: 'sync.ack', id: sentId, payload: { acks: [] } })).toBe(false);
  });

  it('reject with the cloud’s code on link.error, and with LinkUnavailableError on an unknown code or the wrong reply', async () => {
    const pending = new PendingRequests(manualTimers());
    const ids: string[] = [];
    const send = (id: string) => {
      ids.push(id);
    };
    const refused = pending.open('secrets.fetch', send);
    const unknown = pending.open('secrets.fetch', send);
    const wrong = pending.open('auth.refresh', send);
    pending.settle({
      type: 'link.error',
      id: ids[0],
      payload: { code: 'SECRET_GATEWAY_NOT_AUTHORIZED', message: 'no' },
    });
    pending.settle({
      type: 'link.error',
      id: ids[1],
      payload: { code: 'SOMETHING_NEWER', message: 'later code' },
    });
    pending.settle({ type: 'sync.ack', id: ids[2], payload: { acks: [] } });
    await expect(refused).rejects.toMatchObject({ code: 'SECRET_GATEWAY_NOT_AUTHORIZED', message: 'no' });
    await expect(unknown).rejects.toBeInstanceOf(LinkUnavailableError);
    await expect(wrong).rejects.toBeInstanceOf(LinkUnavailableError);
  });

  it('fail when the cloud stays silent past the timeout, and all at once when the connection drops', async () => {
    const timers = manualTimers();
    const pending = new PendingRequests(timers);
    const silent = pending.open('sync.batch', () => {});
    timers.fire(REQUEST_TIMEOUT_MS - 1);
    timers.fire(REQUEST_TIMEOUT_MS);
    await expect(silent).rejects.toThrow(/did not answer sync\.batch within 60 s/);

    const first = pending.open('sync.batch', () => {});
    const second = pending.open('secrets.fetch', () => {});
    pending.failAll('the cloud went silent');
    await expect(first).rejects.toThrow(/went down: the cloud went silent/);
    await expect(second).rejects.toBeInstanceOf(LinkUnavailableError);
    expect(timers.waiting).toBe(0);
  });
});
