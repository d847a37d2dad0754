import {
  ApiError,
  type DesktopAccountStatus,
  type DesktopEvent,
  ErrorEnvelope,
  LoginResponse,
  TokenResponse,
  type User,
} from '@multiclaw/protocol';
import type { Logger } from 'pino';
import type { CloudSessionFile, StoredCloudSession } from '../state/cloud-session-file.js';
import type { SettingsStore } from '../state/settings-store.js';
import { type CloudAnswer, cloudBase, cloudFetch, cloudRefusal } from './cloud-egress.js';

/** Refresh this long before the access token expires, so no request carries one about to lapse. */
const EXPIRY_MARGIN_MS = 30_000;

export interface CloudSessionDeps {
  settings: Pick<SettingsStore, 'read'>;
  file: CloudSessionFile;
  publish: (event: DesktopEvent) => void;
  log: Logger;
  now?: () => number;
}

interface Access {
  token: string;
  expiresAt: number;
}

type RequestOptions = { body?: unknown; query?: Record<string, string | number | undefined> };

/**
 * The host's cloud session: the access token in memory only, the refresh
 * token in a 0600 file (rotated on every use). One refresh at a time: calls
 * that find the token expired, or are answered 401, wait for the same
 * refresh, since a second one with the same refresh token would look like
 * theft to the cloud and end the session. A refresh the cloud refuses ends
 * the session here too, and the UI is told why.
 */
export class CloudSession {
  private access: Access | undefined;
  private stored: StoredCloudSession | undefined;
  private loaded = false;
  private refreshing: Promise<Access> | undefined;
  private readonly listeners = new Set<(signedIn: boolean) => void>();
  private readonly now: () => number;

  constructor(private readonly deps: CloudSessionDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Called with true on sign-in, false when the session ends (the real-time link follows it). */
  onChange(listener: (signedIn: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The configured cloud, checked; refused when none is chosen or local-only is on. */
  async configuredBase(): Promise<string> {
    const settings = await this.deps.settings.read();
    if (settings.localOnly)
      throw new ApiError(
        'DESKTOP_CLOUD_NOT_CONFIGURED',
        'Local-only mode is on: this desktop contacts no cloud. Turn it off in settings first.',
      );
    if (!settings.cloudUrl)
      throw new ApiError(
        'DESKTOP_CLOUD_NOT_CONFIGURED',
        'No MultiClaw Cloud is chosen. Enter its address in settings first.',
      );
    return cloudBase(settings.cloudUrl);
  }

  async status(): Promise<DesktopAccountStatus> {
    const settings = await this.deps.settings.read();
    const stored = await this.current();
    const cloudUrl = settings.cloudUrl ?? null;
    if (!stored || settings.localOnly || !cloudUrl || cloudBase(cloudUrl) !== stored.cloudUrl)
      return { state: 'signed-out', cloudUrl };
    return { state: 'signed-in', cloudUrl, user: stored.user };
  }

  /** Whether a session is held for the configured cloud (the real-time link starts from it). */
  async signedIn(): Promise<boolean> {
    return (await this.status()).state === 'signed-in';
  }

  async signIn(email: string, password: string): Promise<DesktopAccountStatus> {
    const base = await this.configuredBase();
    const answer = await cloudFetch(base, 'POST', '/v1/auth/login', {
      body: { email, password, clientName: 'MultiClaw desktop' },
    });
    if (answer.status !== 200) throw cloudRefusal(base, answer);
    return this.adopt(base, answer);
  }

  /** Takes a login (password, SSO exchange or refresh) answer as the session. */
  async adopt(base: string, answer: CloudAnswer): Promise<DesktopAccountStatus> {
    const login = LoginResponse.safeParse(answer.body);
    if (!login.success)
      throw new ApiError('DESKTOP_CLOUD_UNREACHABLE', `${base} answered the sign-in with an unexpected body`);
    // Signing in again replaces the session held: the old one is ended at its cloud (best effort,
    // and only when that is the cloud in settings: the host talks to no other).
    const held = await this.current();
    const replacedToken = held && held.cloudUrl === base ? this.access?.token : undefined;
    await this.keep(
      base,
      login.data.refreshToken,
      login.data.user,
      login.data.accessToken,
      login.data.expiresIn,
    );
    if (replacedToken)
      cloudFetch(base, 'POST', '/v1/auth/logout', { token: replacedToken }).catch((error: unknown) =>
        this.deps.log.warn({ err: error }, 'could not end the replaced session at the cloud'),
      );
    const account = await this.status();
    this.deps.log.info({ cloud: base, user: login.data.user.id }, 'signed in to the cloud');
    this.deps.publish({ type: 'account.changed', payload: { account, reason: 'signed-in' } });
    // The real-time socket starts again with the new session.
    if (held) for (const listener of this.listeners) listener(false);
    for (const listener of this.listeners) listener(true);
    return account;
  }

  async signOut(): Promise<DesktopAccountStatus> {
    const stored = await this.current();
    if (stored) {
      try {
        // Only to the cloud the session belongs to, and never in local-only mode.
        const base = await this.sessionBase();
        const token = await this.accessToken();
        await cloudFetch(base, 'POST', '/v1/auth/logout', { token });
      } catch (error) {
        // Signing out here must work offline; the cloud's session lapses on its own.
        this.deps.log.warn({ err: error }, 'could not tell the cloud about the sign-out');
      }
    }
    await this.end('signed-out');
    return this.status();
  }

  /** A valid access token: the one in memory, or a fresh one from a (single) refresh. */
  async accessToken(): Promise<string> {
    if (this.access && this.access.expiresAt - EXPIRY_MARGIN_MS > this.now()) return this.access.token;
    return (await this.refresh()).token;
  }

  /** Seconds left on the access token in memory (for the real-time link's re-auth). */
  accessExpiresAt(): number | undefined {
    return this.access?.expiresAt;
  }

  /** Exchanges the refresh token once, however many callers ask at the same time. */
  refresh(): Promise<Access> {
    this.refreshing ??= this.exchange().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * `method path` at the session's cloud with the access token; on a 401 the
   * token is refreshed (once, shared) and the request sent once more.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<CloudAnswer> {
    const base = await this.sessionBase();
    const token = await this.accessToken();
    let answer = await cloudFetch(base, method, path, { ...options, token });
    if (answer.status === 401 && refusedTheToken(answer)) {
      // Another call may have refreshed meanwhile: use its token rather than refresh again.
      const fresh = this.access && this.access.token !== token ? this.access : await this.refresh();
      answer = await cloudFetch(base, method, path, { ...options, token: fresh.token });
    }
    if (answer.status >= 400) throw cloudRefusal(base, answer);
    return answer;
  }

  /**
   * The cloud's newer account of the person signed in (a verified address, a
   * changed name): kept with the session so status() tells it. Another
   * person's record is ignored. Waits for a refresh under way, so the file
   * never gets back a refresh token that was already exchanged. Windows hear
   * of a change as `account.changed` (still signed in).
   */
  async updateUser(user: User): Promise<DesktopAccountStatus> {
    await this.refreshing?.catch(() => undefined);
    const held = await this.current();
    if (!held || held.user.id !== user.id || JSON.stringify(held.user) === JSON.stringify(user))
      return this.status();
    const next: StoredCloudSession = { ...held, user };
    this.stored = next;
    await this.deps.file.write(next);
    // A refresh that finished meanwhile may have renamed its file first: the newest wins on disk.
    if (this.stored && this.stored !== next) await this.deps.file.write(this.stored);
    // Every window shows the person as they are now (still signed in: the same session).
    const account = await this.status();
    this.deps.publish({ type: 'account.changed', payload: { account, reason: 'signed-in' } });
    return account;
  }

  /** Ends the session here (the UI is told why); the refresh token file is deleted. */
  async end(reason: 'signed-out' | 'session-ended', message?: string): Promise<void> {
    const had = (await this.current()) !== undefined;
    this.access = undefined;
    this.stored = undefined;
    await this.deps.file.remove();
    if (!had) return;
    this.deps.log.info({ reason }, 'the cloud session ended');
    const account = await this.status();
    this.deps.publish({
      type: 'account.changed',
      payload: { account, reason, ...(message ? { message } : {}) },
    });
    for (const listener of this.listeners) listener(false);
  }

  /** The cloud of the session held, when it is the one in settings and local-only is off; refused otherwise. */
  async sessionBase(): Promise<string> {
    const base = await this.configuredBase();
    const stored = await this.current();
    if (!stored || stored.cloudUrl !== base)
      throw new ApiError('DESKTOP_CLOUD_SIGNED_OUT', 'You are not signed in to this cloud. Sign in first.');
    return base;
  }

  private async exchange(): Promise<Access> {
    // Never to another cloud than the session's, nor in local-only mode.
    await this.sessionBase();
    const stored = await this.current();
    if (!stored)
      throw new ApiError('DESKTOP_CLOUD_SIGNED_OUT', 'You are not signed in to the cloud. Sign in first.');
    const answer = await cloudFetch(stored.cloudUrl, 'POST', '/v1/auth/refresh', {
      body: { refreshToken: stored.refreshToken },
    });
    if (answer.status === 200) {
      const tokens = TokenResponse.safeParse(answer.body);
      if (!tokens.success)
        throw new ApiError(
          'DESKTOP_CLOUD_UNREACHABLE',
          `${stored.cloudUrl} answered the refresh with an unexpected body`,
        );
      const { refreshToken, accessToken, expiresIn } = tokens.data;
      // The user as held now: updateUser may have changed it while the refresh was under way.
      const user = this.stored?.user ?? stored.user;
      return this.keep(stored.cloudUrl, refreshToken, user, accessToken, expiresIn);
    }
    const refusal = cloudRefusal(stored.cloudUrl, answer);
    if (answer.status === 401) {
      const message =
        refusal.code === 'AUTH_REFRESH_TOKEN_REUSED'
          ? 'The cloud ended this session: its refresh token was used twice, which can mean someone copied it. Sign in again.'
          : 'The cloud session has ended (signed out elsewhere, revoked, or expired). Sign in again.';
      await this.end('session-ended', message);
      throw new ApiError('DESKTOP_CLOUD_SIGNED_OUT', message, { reason: refusal.code });
    }
    throw refusal;
  }

  private async keep(
    base: string,
    refreshToken: string,
    user: User,
    accessToken: string,
    expiresIn: number,
  ): Promise<Access> {
    const stored: StoredCloudSession = { version: 1, cloudUrl: base, refreshToken, user };
    // Held before the write, so an updateUser writing meanwhile sees it and writes it last;
    // the rotated refresh token is on disk before anything uses the new access token.
    this.stored = stored;
    await this.deps.file.write(stored);
    this.access = { token: accessToken, expiresAt: this.now() + expiresIn * 1000 };
    return this.access;
  }

  private async current(): Promise<StoredCloudSession | undefined> {
    if (!this.loaded) {
      this.stored = await this.deps.file.read();
      this.loaded = true;
    }
    return this.stored;
  }
}

/**
 * Whether a 401 says the access token no longer works (expired, or its
 * session ended), which a refresh may cure. A 401 about what the person
 * typed (a wrong current password) is an answer: sending it again would
 * count one more failed attempt against the account's lockout.
 */
function refusedTheToken(answer: CloudAnswer): boolean {
  const envelope = ErrorEnvelope.safeParse(answer.body);
  return !envelope.success || envelope.data.error.code === 'UNAUTHENTICATED';
}
