import {
  ApiError,
  CloudToGateway,
  type ConfigAgents,
  encodeWsMessage,
  GatewayToCloud,
  LINK_ASSERTION_CLOCK_SKEW_SECONDS,
  LINK_CLOSE,
  LINK_MAX_VIOLATIONS,
  LINK_SECRETS_FETCH_BURST,
  LINK_SECRETS_FETCH_PER_SECOND,
  type LinkErrorPayload,
  parseWsMessage,
  type SecretsValue,
  type SyncAck,
  type SyncBatch,
  type WsMessage,
} from '@multiclaw/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { z } from 'zod';
import type { LinkAssertions, LinkedGateway } from './assertion.js';
import type { LinkPresence } from './presence.js';

/** Applies one transcript batch (the transcripts module's applyBatch). */
export type SyncApplier = { applyBatch(gateway: LinkedGateway, batch: SyncBatch): Promise<SyncAck> };

/** Hands out the secret values granted to agents of the gateway's workspace, audited (the vault's valuesForGateway). */
export type SecretSource = (
  gateway: LinkedGateway,
  agentIds: readonly string[],
) => Promise<SecretsValue['secrets']>;

/** Intervals without a single frame from the gateway after which its socket is terminated. */
const SILENT_INTERVALS = 3;
/** `sync.batch`es one socket may have waiting: a gateway keeps at most 4 in flight (its sync window), so more is a runaway. */
const MAX_QUEUED_BATCHES = 16;
/** How long a closed socket's peer has to answer the close frame before the socket is cut. */
const CLOSE_GRACE_MS = 2000;

export type LinkSessionDeps = {
  socket: WebSocket;
  gateway: LinkedGateway;
  version: number;
  /** The `exp` of the assertion the connection was opened with. */
  authExpiresAt: Date;
  openedAt: Date;
  now: () => Date;
  heartbeatMs: number;
  assertions: Pick<LinkAssertions, 'verify'>;
  presence: Pick<LinkPresence, 'seen' | 'closed'>;
  secrets: SecretSource;
  sync: SyncApplier;
  agentsConfig: () => Promise<ConfigAgents>;
  logger: FastifyBaseLogger;
};

type GatewayFrame = WsMessage<typeof GatewayToCloud>;
type Request<Type extends GatewayFrame['type']> = Extract<GatewayFrame, { type: Type }> & { id: string };

/** The envelope id of a frame that failed to parse, if it has a usable one: the error answers that request. */
function idOf(raw: string): string | undefined {
  try {
    const id = (JSON.parse(raw) as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : undefined;
  } catch {
    return undefined;
  }
}

function errorPayload(error: unknown): LinkErrorPayload {
  if (error instanceof ApiError) {
    return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  return { code: 'INTERNAL', message: 'The cloud failed to handle this request; try again.' };
}

/**
 * One open link socket, from `link.ready` to close (DESIGN.md §7). Every
 * frame is parsed against the gateway's catalog; a malformed or unknown one
 * is answered with `link.error` and counted, as is a `secrets.fetch` past the
 * socket's budget, and the LINK_MAX_VIOLATIONS-th closes the socket (4400).
 * Heartbeats go out every `heartbeatMs`, a gateway silent for three intervals is cut off, and its heartbeats keep `lastSeenAt`
 * fresh. The assertion's `exp` (plus the clock skew) is a deadline:
 * `auth.refresh` with a fresh assertion moves it, else the socket closes
 * (4401). Transcript batches are applied one at a time, in arrival order.
 */
export function createLinkSession(deps: LinkSessionDeps) {
  const { socket, gateway, now, heartbeatMs, logger } = deps;
  let authDeadline = deadlineOf(deps.authExpiresAt);
  let authTimer: NodeJS.Timeout | undefined;
  let violations = 0;
  let silentIntervals = 0;
  let lastSeenWrite = Number.NEGATIVE_INFINITY;
  let sentAgentsVersion = -1;
  let syncQueue: Promise<void> = Promise.resolve();
  let queuedBatches = 0;
  const secretFetches = tokenBucket(LINK_SECRETS_FETCH_BURST, LINK_SECRETS_FETCH_PER_SECOND, now);
  let closing = false;
  /** Replaced by a newer connection of the gateway: that one owns the presence now. */
  let replaced = false;
  let endedResolve: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    endedResolve = resolve;
  });

  function deadlineOf(expiresAt: Date): number {
    return expiresAt.getTime() + LINK_ASSERTION_CLOCK_SKEW_SECONDS * 1000;
  }

  function send<Type extends keyof typeof CloudToGateway & string>(
    type: Type,
    payload: z.infer<(typeof CloudToGateway)[Type]>,
    id?: string,
  ) {
    if (socket.readyState !== socket.OPEN) return;
    socket.send(encodeWsMessage(CloudToGateway, type, payload, id));
  }

  function close(code: number, reason: string) {
    if (closing) return;
    closing = true;
    replaced = code === LINK_CLOSE.REPLACED;
    logger.info({ gatewayId: gateway.id, code, reason }, 'gateway link: closing');
    socket.close(code, reason);
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  function armAuthTimer() {
    clearTimeout(authTimer);
    // The heartbeat tick checks the deadline too; this timer makes it exact.
    authTimer = setTimeout(checkAuthDeadline, Math.max(0, authDeadline - now().getTime()));
    authTimer.unref();
  }

  function checkAuthDeadline() {
    if (now().getTime() >= authDeadline) {
      close(LINK_CLOSE.AUTH_EXPIRED, 'assertion expired without auth.refresh');
    }
  }

  function tick() {
    checkAuthDeadline();
    silentIntervals += 1;
    if (silentIntervals > SILENT_INTERVALS) {
      logger.info({ gatewayId: gateway.id }, 'gateway link: silent for three heartbeats, terminated');
      socket.terminate();
      return;
    }
    send('link.heartbeat', { sentAt: now().toISOString() });
  }
  const heartbeat = setInterval(tick, heartbeatMs);
  heartbeat.unref();

  function violation(error: unknown, id: string | undefined) {
    violations += 1;
    send('link.error', errorPayload(error), id);
    if (violations >= LINK_MAX_VIOLATIONS) {
      close(LINK_CLOSE.VIOLATIONS, `${violations} malformed, unknown or over-budget frames`);
    }
  }

  function refuseAndClose(error: unknown, id: string) {
    send('link.error', errorPayload(error), id);
    const code =
      error instanceof ApiError &&
      (error.code === 'LINK_GATEWAY_REVOKED' || error.code === 'SECRET_GATEWAY_NOT_AUTHORIZED')
        ? LINK_CLOSE.REVOKED
        : LINK_CLOSE.AUTH_EXPIRED;
    close(code, error instanceof ApiError ? error.code : 'refused');
  }

  async function onHeartbeat() {
    // Cheap: one UPDATE at most every half interval of the (injectable) clock, however often they come.
    const at = now().getTime();
    if (at - lastSeenWrite < heartbeatMs / 2) return;
    lastSeenWrite = at;
    await deps.presence.seen(gateway.id, deps.openedAt);
  }

  async function onRefresh({ id, payload }: Request<'auth.refresh'>) {
    try {
      const verified = await deps.assertions.verify(payload.assertion, { gatewayId: gateway.id });
      authDeadline = deadlineOf(verified.expiresAt);
      armAuthTimer();
      send('auth.ok', { expiresAt: verified.expiresAt.toISOString() }, id);
    } catch (error) {
      refuseAndClose(error, id);
    }
  }

  async function onSecretsFetch({ id, payload }: Request<'secrets.fetch'>) {
    if (!secretFetches.take()) {
      // Refused before the vault is asked: a runaway or hostile gateway gets no values and leaves no audit trail.
      violation(
        new ApiError(
          'RATE_LIMITED',
          `At most ${LINK_SECRETS_FETCH_BURST} secrets.fetch at once, then ${LINK_SECRETS_FETCH_PER_SECOND} a second, on one link; fetch again after the next config.agents.`,
        ),
        id,
      );
      return;
    }
    try {
      send('secrets.value', { secrets: await deps.secrets(gateway, payload.agentIds) }, id);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'SECRET_GATEWAY_NOT_AUTHORIZED') {
        refuseAndClose(error, id);
      } else {
        logger.error({ err: error, gatewayId: gateway.id }, 'gateway link: secrets.fetch failed');
        send('link.error', errorPayload(error), id);
      }
    }
  }

  function onSyncBatch({ id, payload }: Request<'sync.batch'>) {
    if (queuedBatches >= MAX_QUEUED_BATCHES) {
      send(
        'link.error',
        {
          code: 'RATE_LIMITED',
          message: `At most ${MAX_QUEUED_BATCHES} sync batches may wait for their ack; send the next after an ack.`,
        },
        id,
      );
      return;
    }
    queuedBatches += 1;
    syncQueue = syncQueue.then(async () => {
      try {
        if (!closing) send('sync.ack', await deps.sync.applyBatch(gateway, payload), id);
      } catch (error) {
        if (!(error instanceof ApiError)) {
          logger.error({ err: error, gatewayId: gateway.id }, 'gateway link: sync batch failed');
        }
        send('link.error', errorPayload(error), id);
      } finally {
        queuedBatches -= 1;
      }
    });
  }

  function onFrame(data: RawData, isBinary: boolean) {
    silentIntervals = 0;
    if (closing) return;
    if (isBinary) {
      violation(
        new ApiError('PROTOCOL_INVALID_FRAME', 'Binary frames are not part of the link protocol'),
        undefined,
      );
      return;
    }
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    const raw = bytes.toString('utf8');
    let message: GatewayFrame;
    try {
      message = parseWsMessage(GatewayToCloud, raw);
    } catch (error) {
      violation(error, idOf(raw));
      return;
    }
    if (message.type === 'link.heartbeat') {
      void onHeartbeat().catch((error: unknown) => {
        logger.warn({ err: error, gatewayId: gateway.id }, 'gateway link: lastSeenAt not refreshed');
      });
      return;
    }
    if (message.id === undefined) {
      violation(
        new ApiError('PROTOCOL_INVALID_FRAME', `"${message.type}" is a request: give it an id`),
        undefined,
      );
      return;
    }
    const request = { ...message, id: message.id };
    if (request.type === 'auth.refresh') void onRefresh(request);
    else if (request.type === 'secrets.fetch') void onSecretsFetch(request);
    else onSyncBatch(request);
  }

  /** Sends the workspace's agents, unless this socket already has that version or a newer one. */
  function pushAgents(config: ConfigAgents) {
    if (config.version <= sentAgentsVersion) return;
    sentAgentsVersion = config.version;
    send('config.agents', config);
  }

  async function reloadAgents() {
    try {
      pushAgents(await deps.agentsConfig());
    } catch (error) {
      logger.error({ err: error, gatewayId: gateway.id }, 'gateway link: workspace agents not loaded');
    }
  }

  socket.on('message', onFrame);
  socket.on('close', (code: number) => {
    closing = true;
    clearInterval(heartbeat);
    clearTimeout(authTimer);
    logger.info({ gatewayId: gateway.id, code }, 'gateway link: closed');
    // A replaced socket leaves onlineAt alone, even if its close lands before the newer one is marked online.
    const clearing = replaced ? Promise.resolve() : deps.presence.closed(gateway, deps.openedAt);
    void clearing
      .catch((error: unknown) => {
        logger.warn({ err: error, gatewayId: gateway.id }, 'gateway link: onlineAt not cleared');
      })
      .finally(endedResolve);
  });

  return {
    gateway,
    /** First frames: `link.ready`, then the workspace's agents. */
    async start() {
      armAuthTimer();
      send('link.ready', {
        version: deps.version,
        gatewayId: gateway.id,
        workspaceId: gateway.workspaceId,
        authExpiresAt: deps.authExpiresAt.toISOString(),
        heartbeatMs,
      });
      await reloadAgents();
    },
    pushAgents,
    reloadAgents,
    close,
    /** Resolves once the socket closed and its presence was cleared. */
    ended,
  };
}

export type LinkSession = ReturnType<typeof createLinkSession>;

/** A token bucket on the session's (injectable) clock: `burst` at once, refilled at `perSecond`. */
function tokenBucket(burst: number, perSecond: number, now: () => Date) {
  let tokens = burst;
  let at = now().getTime();
  return {
    take(): boolean {
      const time = now().getTime();
      tokens = Math.min(burst, tokens + (Math.max(0, time - at) / 1000) * perSecond);
      at = time;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
