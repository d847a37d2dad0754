import type { KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ConfigAgents, SyncAck, SyncBatch } from '@multiclaw/protocol';
import type { ClientOptions, WebSocket } from 'ws';
import {
  type CloudLink,
  type CloudLinkEvents,
  type LinkStateName,
  type LinkStatus,
  LinkUnavailableError,
} from './cloud-link.js';
import {
  type IdentityPaths,
  type LinkStateFile,
  linkStateSignature,
  readDeviceKey,
  readLinkState,
  saveLinkState,
} from './identity.js';
import { type ClientState, LinkClient } from './link-client.js';
import { type LinkTimers, realTimers } from './link-timers.js';
import { publicProviderOrigin } from './provider-kinds.js';
import type { WorkspaceAgents } from './workspace-agents.js';

/** How often the running gateway looks at link.json: `link` and `unlink` take effect within this. */
export const LINK_STATE_POLL_MS = 1_000;
/** secrets.fetch takes at most this many agent ids at a time (the catalog's limit). */
const FETCH_CHUNK = 256;

export interface LinkServiceDeps {
  identity: IdentityPaths;
  workspaceAgents: WorkspaceAgents;
  openSocket(url: string, options: ClientOptions): WebSocket;
  log: {
    warn(obj: object, msg: string): void;
    info(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  timers?: LinkTimers;
  pollMs?: number;
}

/**
 * The link as the gateway runs it. It follows `identity/link.json` (polled
 * every second: the CLI's `link` and `unlink` write or remove it, whether or
 * not a gateway runs, and a running one picks the change up by itself),
 * keeps one LinkClient for the current identity, hands the workspace's agents
 * and secret values to WorkspaceAgents, and drops them the moment the link
 * ends. Logs one line per change of state.
 */
export class LinkService implements CloudLink {
  private readonly emitter = new EventEmitter();
  private readonly timers: LinkTimers;
  private client: LinkClient | undefined;
  /** The secrets.fetch under way for the current client, and whether a newer config.agents came meanwhile. */
  private fetchingSecrets: Promise<void> | undefined;
  private fetchSecretsAgain = false;
  private linked: LinkStateFile | undefined;
  private signature = 'unread';
  private statusNow: LinkStatus = { state: 'not linked' };
  private pollTimer: unknown;
  private polling: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: LinkServiceDeps) {
    this.timers = deps.timers ?? realTimers;
  }

  /** Reads the link state once (so `status` is right from the start), then keeps following it. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedulePoll();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timers.clearTimeout(this.pollTimer);
    await this.polling;
    this.client?.stop();
    this.client = undefined;
  }

  status(): LinkStatus {
    return { ...this.statusNow, workspaceAgents: this.deps.workspaceAgents.size };
  }

  request(type: 'sync.batch', payload: SyncBatch): Promise<SyncAck> {
    if (!this.client)
      return Promise.reject(new LinkUnavailableError(`the cloud link is ${this.statusNow.state}`));
    return this.client.request(type, payload);
  }

  on<E extends keyof CloudLinkEvents>(event: E, listener: (detail: CloudLinkEvents[E]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  /** Where the link may connect: the linked cloud, and the public APIs of the workspace agents it holds. */
  egressOrigins(): string[] {
    if (!this.linked || this.linked.revokedAt) return [];
    const origins = new Set([new URL(this.linked.cloudUrl).origin]);
    for (const agent of this.deps.workspaceAgents.list()) {
      const origin = publicProviderOrigin(agent.provider);
      if (origin) origins.add(origin);
    }
    return [...origins];
  }

  /** Re-reads link.json now (the poll does this every second; tests and the CLI's local call may too). */
  refresh(): Promise<void> {
    this.polling = this.polling
      .then(() => this.follow())
      .catch((error: unknown) => {
        this.deps.log.error({ err: error }, 'cloud link: could not read the link state');
      });
    return this.polling;
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.pollTimer = this.timers.setTimeout(() => {
      void this.refresh().then(() => this.schedulePoll());
    }, this.deps.pollMs ?? LINK_STATE_POLL_MS);
  }

  /** Brings the running link in line with link.json. */
  private async follow(): Promise<void> {
    if (this.closed) return;
    const signature = await linkStateSignature(this.deps.identity);
    if (signature === this.signature) return;
    this.signature = signature;
    let next: LinkStateFile | undefined;
    try {
      next = await readLinkState(this.deps.identity);
    } catch (error) {
      this.deps.log.error({}, `cloud link: ${(error as Error).message}`);
      next = undefined;
    }
    const previous = this.linked;
    if (previous && (!next || next.gatewayId !== previous.gatewayId)) this.end(previous, 'unlinked');
    this.linked = next;
    if (!next) return this.setStatus('not linked', undefined);
    if (next.revokedAt) {
      this.client?.stop();
      this.client = undefined;
      this.deps.workspaceAgents.drop(
        `this gateway was revoked by its workspace (${next.revokedReason ?? 'revoked'}); link again with a new code`,
      );
      return this.setStatus('revoked', next.revokedReason ?? 'revoked by the workspace');
    }
    if (this.client) return;
    let privateKey: KeyObject;
    try {
      privateKey = await readDeviceKey(this.deps.identity, (message) => this.deps.log.warn({}, message));
    } catch (error) {
      // Linked, but without a usable key: say so in status rather than pretend to be unlinked.
      return this.setStatus('offline', (error as Error).message);
    }
    this.deps.workspaceAgents.setUnavailableReason('the workspace agents have not arrived over the link yet');
    const linked = next;
    const client = new LinkClient(
      { cloudUrl: linked.cloudUrl, gatewayId: linked.gatewayId, workspaceId: linked.workspaceId, privateKey },
      {
        openSocket: this.deps.openSocket,
        timers: this.timers,
        log: this.deps.log,
        events: {
          state: (state, reason) => {
            if (client === this.client) void this.onClientState(linked, state, reason);
          },
          agents: (config) => {
            if (client === this.client) void this.onAgents(client, config);
          },
        },
      },
    );
    this.client = client;
    client.start();
  }

  private async onClientState(
    linked: LinkStateFile,
    state: ClientState,
    reason: string | undefined,
  ): Promise<void> {
    const ids = { gatewayId: linked.gatewayId, workspaceId: linked.workspaceId };
    if (state === 'stopped') return;
    if (state === 'revoked') {
      this.client?.stop();
      this.client = undefined;
      this.deps.workspaceAgents.drop(
        `this gateway was revoked by its workspace (${reason ?? 'revoked'}); link again with a new code`,
      );
      this.setStatus('revoked', reason);
      this.emitter.emit('unlinked', { ...ids, reason: 'revoked' } satisfies CloudLinkEvents['unlinked']);
      // Remembered, so a restart does not knock on the cloud's door again — unless `unlink` removed the link meanwhile.
      const current = await readLinkState(this.deps.identity).catch(() => undefined);
      if (current?.gatewayId !== linked.gatewayId) return;
      const revoked = {
        ...linked,
        revokedAt: this.timers.now().toISOString(),
        revokedReason: reason ?? 'revoked',
      };
      await saveLinkState(this.deps.identity, revoked).catch((error: unknown) =>
        this.deps.log.error({ err: error }, 'cloud link: could not record the revocation'),
      );
      return;
    }
    const was = this.statusNow.state;
    this.setStatus(state, reason);
    if (state === 'online') this.emitter.emit('online', ids satisfies CloudLinkEvents['online']);
    if (state === 'offline' && was === 'online') {
      this.emitter.emit('offline', {
        ...ids,
        reason: reason ?? 'offline',
      } satisfies CloudLinkEvents['offline']);
    }
  }

  /** New agents: held at once; then their granted values, fetched and held in memory. */
  private async onAgents(client: LinkClient, config: ConfigAgents): Promise<void> {
    const agents = this.deps.workspaceAgents;
    if (!agents.setAgents(config)) return;
    agents.setUnavailableReason("it is not one of the workspace's agents (any more)");
    this.deps.log.info(
      { link: { agentsVersion: config.version, agents: config.agents.length } },
      `cloud link: ${config.agents.length} workspace agent(s), version ${config.version}`,
    );
    if (client === this.client) await this.refreshSecrets();
  }

  /**
   * Fetches the granted values for the agents held now. One fetch at a time:
   * a `config.agents` arriving meanwhile (a secret rotated or its grant
   * withdrawn bumps the workspace's version too) gets one more fetch after it,
   * so the values held are always the answer to the latest config, never an
   * older answer landing late, and a burst of changes costs the cloud's
   * secrets.fetch budget two fetches, not one each.
   */
  private async refreshSecrets(): Promise<void> {
    if (this.fetchingSecrets) {
      this.fetchSecretsAgain = true;
      return this.fetchingSecrets;
    }
    const run = async () => {
      do {
        this.fetchSecretsAgain = false;
        // Whichever client is current now: a link replaced meanwhile fetches for its own agents.
        const client = this.client;
        if (client) await this.fetchSecrets(client);
      } while (this.fetchSecretsAgain);
    };
    this.fetchingSecrets = run().finally(() => {
      this.fetchingSecrets = undefined;
    });
    return this.fetchingSecrets;
  }

  private async fetchSecrets(client: LinkClient): Promise<void> {
    const agents = this.deps.workspaceAgents;
    const ids = agents.agentsWithGrants();
    try {
      const secrets = [];
      for (let start = 0; start < ids.length; start += FETCH_CHUNK) {
        const answer = await client.request('secrets.fetch', {
          agentIds: ids.slice(start, start + FETCH_CHUNK),
        });
        secrets.push(...answer.secrets);
      }
      if (client !== this.client) return;
      agents.setSecrets({ secrets });
    } catch (error) {
      // Only the code and message: never a value.
      this.deps.log.warn(
        { link: { code: (error as { code?: string }).code } },
        `cloud link: could not fetch the workspace agents' secrets: ${(error as Error).message}`,
      );
    }
  }

  /** The link ended for good (unlink, or a new identity): drop everything, tell the outbox. */
  private end(previous: LinkStateFile, reason: 'unlinked'): void {
    this.client?.stop();
    this.client = undefined;
    this.deps.workspaceAgents.drop(
      'this gateway was unlinked from its workspace (multiclaw-gateway link --cloud URL --code CODE)',
    );
    this.emitter.emit('unlinked', {
      gatewayId: previous.gatewayId,
      workspaceId: previous.workspaceId,
      reason,
    } satisfies CloudLinkEvents['unlinked']);
  }

  private setStatus(state: LinkStateName, reason: string | undefined): void {
    const linked = this.linked;
    const changed = state !== this.statusNow.state;
    this.statusNow = {
      state,
      ...(reason ? { reason } : {}),
      ...(linked
        ? {
            gatewayId: linked.gatewayId,
            workspaceId: linked.workspaceId,
            cloudUrl: linked.cloudUrl,
            linkedAt: linked.linkedAt,
          }
        : {}),
      since: changed
        ? this.timers.now().toISOString()
        : (this.statusNow.since ?? this.timers.now().toISOString()),
    };
    if (!changed) return;
    const where = linked
      ? ` (workspace ${linked.workspaceId} at ${linked.cloudUrl}, gateway ${linked.gatewayId})`
      : '';
    const line = `cloud link ${state}${where}${reason ? `: ${reason}` : ''}`;
    const fields = { link: { state, gatewayId: linked?.gatewayId, workspaceId: linked?.workspaceId } };
    if (state === 'offline' || state === 'revoked') this.deps.log.warn(fields, line);
    else this.deps.log.info(fields, line);
  }
}
