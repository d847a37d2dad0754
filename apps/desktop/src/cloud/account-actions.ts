import { join } from 'node:path';
import {
  AccountExport,
  ApiError,
  type DesktopAccountStatus,
  MeResponse,
  OidcProviderInfo,
  Page,
  SessionInfo,
  VerifyEmailResponse,
} from '@multiclaw/protocol';
import { writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import { z } from 'zod';
import { type CloudAnswer, cloudFetch, cloudRefusal } from './cloud-egress.js';
import type { CloudSession } from './cloud-session.js';

const DONE = { ok: true } as const;
const SessionList = z.object({ items: z.array(SessionInfo) });

export interface AccountActionsDeps {
  session: CloudSession;
  /** Where exports of the account are saved (0700, under the desktop state directory). */
  exportDir: string;
  now?: () => Date;
}

/**
 * What a person does with their cloud account from the desktop, beyond
 * signing in and out (cloud-session.ts): sign-up, the mailed codes, profile,
 * password, sessions, export and deletion. Calls that need no session (the
 * codes are the credential) go to the cloud in settings without a token.
 */
export function accountActions(deps: AccountActionsDeps) {
  const { session } = deps;
  const now = deps.now ?? (() => new Date());

  /** `method path` at the cloud in settings, without a session; a refusal in plain words. */
  async function anonymous(method: string, path: string, body?: unknown): Promise<CloudAnswer> {
    const base = await session.configuredBase();
    const answer = await cloudFetch(base, method, path, body === undefined ? {} : { body });
    if (answer.status >= 400) throw cloudRefusal(base, answer);
    return answer;
  }

  function parsed<T>(schema: z.ZodType<T>, answer: CloudAnswer, what: string): T {
    const result = schema.safeParse(answer.body);
    if (!result.success)
      throw new ApiError('DESKTOP_CLOUD_UNREACHABLE', `The cloud answered ${what} with an unexpected body`);
    return result.data;
  }

  /** A password the person typed to prove it is them, refused: said for what they were doing. */
  async function withPassword<T>(action: () => Promise<T>, refused: string): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'AUTH_INVALID_CREDENTIALS')
        throw new ApiError(error.code, refused, error.details);
      throw error;
    }
  }

  async function listSessions(): Promise<SessionInfo[]> {
    return parsed(SessionList, await session.request('GET', '/v1/auth/sessions'), 'the session list').items;
  }

  return {
    async providers() {
      return parsed(
        Page(OidcProviderInfo),
        await anonymous('GET', '/v1/auth/oidc/providers'),
        'the provider list',
      );
    },

    /** Registers at the cloud in settings, then signs in with the same email and password. */
    async signUp(input: { email: string; password: string; name?: string | undefined }) {
      await anonymous('POST', '/v1/auth/register', {
        email: input.email,
        password: input.password,
        ...(input.name ? { name: input.name } : {}),
      });
      try {
        return await session.signIn(input.email, input.password);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        throw new ApiError(
          error.code,
          `Your account was created, but signing in with it failed: ${error.message} Sign in with your email and password.`,
          error.details,
        );
      }
    },

    /** Spends the mailed code; when it verifies the person signed in, the session's record says so. */
    async verifyEmail(token: string): Promise<DesktopAccountStatus> {
      const { user } = parsed(
        VerifyEmailResponse,
        await anonymous('POST', '/v1/auth/email/verify', { token }),
        'the verification',
      );
      return session.updateUser(user);
    },

    async resendVerification() {
      try {
        await session.request('POST', '/v1/auth/email/resend');
      } catch (error) {
        if (error instanceof ApiError && error.code === 'RATE_LIMITED')
          throw new ApiError(
            error.code,
            `A code was mailed recently: check your mail, and its spam folder. ${error.message}`,
            error.details,
          );
        throw error;
      }
      return DONE;
    },

    /** The cloud answers the same whether or not the address has an account. */
    async forgotPassword(email: string) {
      await anonymous('POST', '/v1/auth/password/forgot', { email });
      return DONE;
    },

    /** Every session of the account ends at the cloud; this host's, if it was one of them, ends on its next call. */
    async resetPassword(input: { token: string; password: string }) {
      await anonymous('POST', '/v1/auth/password/reset', { token: input.token, password: input.password });
      return DONE;
    },

    async profile() {
      const { user } = parsed(MeResponse, await session.request('GET', '/v1/me'), 'the profile');
      await session.updateUser(user);
      return { user };
    },

    /** The cloud ends the account's other sessions; this one goes on. */
    async changePassword(input: { currentPassword: string; newPassword: string }) {
      await withPassword(
        () => session.request('POST', '/v1/auth/password', { body: input }),
        'The current password is wrong, or the account is locked for a while after too many wrong passwords. Check it, or wait and try again.',
      );
      return DONE;
    },

    sessions: listSessions,

    /** Revoking this computer's own session is signing out here. */
    async revokeSession(sessionId: string) {
      const target = (await listSessions()).find((item) => item.id === sessionId);
      if (target?.current) {
        await session.signOut();
        return DONE;
      }
      await session.request('DELETE', `/v1/auth/sessions/${encodeURIComponent(sessionId)}`);
      return DONE;
    },

    /** "Sign out everywhere else": every session of the account but this one. */
    async revokeOtherSessions() {
      let revoked = 0;
      for (const item of await listSessions()) {
        if (item.current) continue;
        try {
          await session.request('DELETE', `/v1/auth/sessions/${encodeURIComponent(item.id)}`);
          revoked += 1;
        } catch (error) {
          // Ended meanwhile (signed out, expired): nothing left to revoke.
          if (!(error instanceof ApiError && error.code === 'NOT_FOUND')) throw error;
        }
      }
      return { revoked };
    },

    /** Everything the cloud holds about the account, in a 0600 JSON file of the state directory. */
    async exportData() {
      const data = parsed(AccountExport, await session.request('GET', '/v1/me/export'), 'the export');
      const stamp = now().toISOString().replace(/[:.]/g, '-');
      const path = join(deps.exportDir, `multiclaw-account-export-${stamp}.json`);
      const text = `${JSON.stringify(data, null, 2)}\n`;
      await writePrivateFileAtomic(path, text);
      return { path, bytes: Buffer.byteLength(text) };
    },

    /** Deletes the account at the cloud, re-authenticated by the password; then the session ends here. */
    async deleteAccount(password: string | undefined): Promise<DesktopAccountStatus> {
      await withPassword(
        () => session.request('DELETE', '/v1/me', { body: password === undefined ? {} : { password } }),
        password === undefined
          ? 'Type your password to delete the account. (An account without one, made by single sign-on, must have signed in within the last five minutes: sign out, sign in again, then delete.)'
          : 'The password is wrong, or the account is locked for a while after too many wrong passwords. Nothing was deleted.',
      );
      await session.end(
        'signed-out',
        'Your account was deleted from the cloud, and this computer is signed out.',
      );
      return session.status();
    },
  };
}

export type AccountActions = ReturnType<typeof accountActions>;
