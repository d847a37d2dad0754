import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  ApiError,
  DESKTOP_EVENTS_AUTH_TIMEOUT_MS,
  DESKTOP_EVENTS_CLOSE,
  DESKTOP_EVENTS_PATH,
  type DesktopEvent,
  DesktopEventsFromUi,
  DesktopEventsToUi,
  type DesktopGatewayStatus,
  encodeWsMessage,
  parseWsMessage,
} from '@multiclaw/protocol';
import { rawErrorResponse } from '@multiclaw/runtime/http-errors';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { EventHub } from './event-hub.js';
import { checkHost, checkOrigin, type HostAddress } from './guard.js';
import type { WindowSecrets } from './window-secrets.js';

/** Windows are few; a local program opening sockets by the hundred is refused past this. */
export const MAX_EVENT_STREAMS = 32;

export interface EventStreamDeps {
  address: HostAddress;
  secrets: WindowSecrets;
  hub: EventHub;
  gatewayStatus: () => Promise<DesktopGatewayStatus>;
  log: Logger;
  authTimeoutMs?: number;
  /** Whether this window may hear this event (default: every event); the cloud's are for windows that may call `account.status`. */
  mayHear?: (window: string, event: DesktopEvent) => boolean;
}

/**
 * The one event stream back to the UI: a WebSocket at /ipc/events. The
 * upgrade passes the Host and Origin checks; the first frame must be
 * `auth.secret` with a window secret (never in the URL, which browsers and
 * proxies log), within a few seconds, or the socket closes 4401.
 */
export function createEventStream(deps: EventStreamDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });
  const send = (ws: WebSocket, event: DesktopEvent) => {
    try {
      ws.send(encodeWsMessage(DesktopEventsToUi, event.type, event.payload as never));
    } catch (error) {
      // One bad event (off its schema) must not stop the others, nor the gateway connection that published it.
      deps.log.error({ err: error, event: event.type }, 'event not sent');
    }
  };

  function serve(ws: WebSocket): void {
    let unsubscribe: (() => void) | undefined;
    const timer = setTimeout(
      () => ws.close(DESKTOP_EVENTS_CLOSE.UNAUTHENTICATED, 'no auth.secret in time'),
      deps.authTimeoutMs ?? DESKTOP_EVENTS_AUTH_TIMEOUT_MS,
    );
    ws.on('close', () => {
      clearTimeout(timer);
      unsubscribe?.();
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', async (data) => {
      if (unsubscribe)
        return ws.close(DESKTOP_EVENTS_CLOSE.INVALID_FRAME, 'the stream takes no frames after auth');
      let secret: string;
      try {
        secret = parseWsMessage(DesktopEventsFromUi, data.toString()).payload.secret;
      } catch {
        return ws.close(DESKTOP_EVENTS_CLOSE.INVALID_FRAME, 'the first frame must be auth.secret');
      }
      const window = deps.secrets.windowOf(secret);
      if (window === undefined) {
        deps.log.warn('event stream refused: wrong window secret');
        return ws.close(DESKTOP_EVENTS_CLOSE.UNAUTHENTICATED, 'wrong window secret');
      }
      clearTimeout(timer);
      unsubscribe = deps.hub.subscribe((event) => {
        if (deps.mayHear?.(window, event) ?? true) send(ws, event);
      });
      send(ws, { type: 'events.ready', payload: { gateway: await deps.gatewayStatus() } });
    });
  }

  return {
    onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      socket.on('error', () => socket.destroy());
      const refused =
        checkHost(req.headers.host, deps.address) ??
        checkOrigin(req.headers.origin, deps.address) ??
        (new URL(req.url ?? '/', 'http://host').pathname === DESKTOP_EVENTS_PATH
          ? undefined
          : new ApiError('NOT_FOUND', 'No such event stream')) ??
        (wss.clients.size >= MAX_EVENT_STREAMS
          ? new ApiError('SERVICE_UNAVAILABLE', 'Too many event streams are open; close a window and retry')
          : undefined);
      if (refused) {
        deps.log.warn({ errorCode: refused.code }, 'event stream upgrade refused');
        socket.end(rawErrorResponse(refused, 'upgrade'));
        return;
      }
      wss.handleUpgrade(req, socket, head, serve);
    },
    close(): void {
      for (const ws of wss.clients) ws.close(DESKTOP_EVENTS_CLOSE.HOST_STOPPING, 'host stopping');
      wss.close();
    },
  };
}
