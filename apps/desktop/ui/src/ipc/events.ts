import {
  DESKTOP_EVENTS_CLOSE,
  DESKTOP_EVENTS_PATH,
  type DesktopEvent,
  DesktopEventsToUi,
  type DesktopEventType,
} from '@multiclaw/protocol/desktop';
import { windowSecret } from './secret';

/**
 * `WS_PROTOCOL_VERSION` of packages/protocol/src/ws.ts, which is not imported
 * here because it is written for Node (Buffer). Were they to differ, the
 * host would refuse the first frame and no reply would stream: the chat test
 * of test/e2e/ui.browser.test.ts would fail.
 */
export const WS_PROTOCOL_VERSION = 1;

type Listener = (event: DesktopEvent) => void;
export type StreamState = 'connecting' | 'open' | 'closed' | 'refused';

const listeners = new Set<Listener>();
const stateListeners = new Set<(state: StreamState) => void>();
let socket: WebSocket | undefined;
let state: StreamState = 'closed';
let retryMs = 500;

function setState(next: StreamState) {
  state = next;
  for (const listener of stateListeners) listener(next);
}

function parse(data: unknown): DesktopEvent | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const frame = JSON.parse(data) as { v?: unknown; type?: unknown; payload?: unknown };
    if (frame.v !== WS_PROTOCOL_VERSION || typeof frame.type !== 'string') return undefined;
    if (!Object.hasOwn(DesktopEventsToUi, frame.type)) return undefined;
    const type = frame.type as DesktopEventType;
    const payload = DesktopEventsToUi[type].safeParse(frame.payload);
    return payload.success ? ({ type, payload: payload.data } as DesktopEvent) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one event stream from the host (`/ipc/events`, same origin): the first
 * frame carries the window secret; it reconnects after the host restarts.
 */
function connect(): void {
  const secret = windowSecret();
  if (!secret) {
    setState('refused');
    return;
  }
  setState('connecting');
  const url = new URL(DESKTOP_EVENTS_PATH, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  socket = ws;
  ws.addEventListener('open', () => {
    ws.send(JSON.stringify({ v: WS_PROTOCOL_VERSION, type: 'auth.secret', payload: { secret } }));
  });
  ws.addEventListener('message', (message) => {
    const event = parse(message.data);
    if (!event) return;
    if (event.type === 'events.ready') {
      retryMs = 500;
      setState('open');
    }
    for (const listener of listeners) listener(event);
  });
  ws.addEventListener('close', (close) => {
    if (socket !== ws) return;
    socket = undefined;
    if (close.code === DESKTOP_EVENTS_CLOSE.UNAUTHENTICATED) {
      setState('refused');
      return;
    }
    setState('closed');
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  });
}

/** Starts the stream (once) and calls `listener` with every event until the returned function is called. */
export function onEvent(listener: Listener): () => void {
  listeners.add(listener);
  if (!socket && state !== 'refused') connect();
  return () => listeners.delete(listener);
}

export function onStreamState(listener: (state: StreamState) => void): () => void {
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}
