import { type ContentToWorker, RECORDER_PORT } from '../shared/messages.js';

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 10_000;
/** A port that lived this long was a working connection: the next drop retries quickly again. */
const HEALTHY_MS = 1_000;

/**
 * A recording frame's line to the service worker. While the frame records it
 * holds a port open, for two reasons:
 * - a step goes over a channel that is already open. A one-off message to a
 *   stopped worker waits for the worker to start, and if the page unloads
 *   first (the click that follows a link) Chrome drops it with the page;
 * - when Chrome stops the worker (idle for 30 s, or killed), the port's
 *   disconnect says so, and reconnecting starts a new worker at once, before
 *   the person's next click rather than because of it.
 * Between sessions nothing is open and nothing is sent.
 */
export function workerChannel() {
  let port: chrome.runtime.Port | undefined;
  let wanted = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let retryMs = FIRST_RETRY_MS;

  const connect = () => {
    retry = undefined;
    if (!wanted || port) return;
    const openedAt = Date.now();
    try {
      port = chrome.runtime.connect({ name: RECORDER_PORT });
    } catch {
      wanted = false; // the extension was reloaded or removed under this page
      return;
    }
    port.onDisconnect.addListener(() => {
      void chrome.runtime.lastError; // read, so Chrome does not report it as unchecked
      port = undefined;
      if (!wanted) return;
      retryMs = Date.now() - openedAt >= HEALTHY_MS ? FIRST_RETRY_MS : Math.min(retryMs * 2, LAST_RETRY_MS);
      retry = setTimeout(connect, retryMs);
    });
  };

  return {
    open(): void {
      wanted = true;
      if (retry === undefined) connect();
    },
    close(): void {
      wanted = false;
      clearTimeout(retry);
      retry = undefined;
      port?.disconnect();
      port = undefined;
    },
    send(message: ContentToWorker): void {
      if (port) {
        try {
          port.postMessage(message);
          return;
        } catch {
          port = undefined; // disconnected under us: fall back to a one-off message
        }
      }
      void askWorker(message);
    },
  };
}

/** One message to the worker, answered; undefined if the extension was reloaded or removed under this page. */
export function askWorker(message: ContentToWorker): Promise<unknown> {
  return chrome.runtime.sendMessage(message).catch(() => undefined);
}
