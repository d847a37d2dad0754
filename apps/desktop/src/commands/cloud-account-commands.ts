import { dirname, join } from 'node:path';
import { accountActions } from '../cloud/account-actions.js';
import type { CloudSession } from '../cloud/cloud-session.js';
import type { SsoFlow } from '../cloud/sso.js';
import type { CommandHandlers } from '../ipc/registry.js';

export interface CloudCommandDeps {
  cloud: {
    session: CloudSession;
    sso: SsoFlow;
    /** The gateway's environment and where the host writes a spawned command's output. */
    env: NodeJS.ProcessEnv;
    logDir: string;
    /** Where account exports are saved; by default `exports/` of the state directory (the parent of `logDir`). */
    exportDir?: string;
  };
}

/**
 * The cloud account: status, sign-in (password or single sign-on through the
 * system browser), sign-up and the mailed codes, profile, password, sessions,
 * export and deletion. No token leaves the host.
 */
export function cloudAccountCommands(
  deps: CloudCommandDeps,
): Pick<CommandHandlers, Extract<keyof CommandHandlers, `account.${string}`>> {
  const { session, sso } = deps.cloud;
  const account = accountActions({
    session,
    exportDir: deps.cloud.exportDir ?? join(dirname(deps.cloud.logDir), 'exports'),
  });
  return {
    'account.status': () => session.status(),
    'account.signIn': ({ email, password }) => session.signIn(email, password),
    'account.signOut': () => session.signOut(),
    'account.sso.start': ({ provider }) => sso.start(provider),
    'account.sso.providers': () => account.providers(),
    'account.signUp': (input) => account.signUp(input),
    'account.verifyEmail': ({ token }) => account.verifyEmail(token),
    'account.resendVerification': () => account.resendVerification(),
    'account.forgotPassword': ({ email }) => account.forgotPassword(email),
    'account.resetPassword': (input) => account.resetPassword(input),
    'account.profile': () => account.profile(),
    'account.changePassword': (input) => account.changePassword(input),
    'account.sessions.list': async () => ({ items: await account.sessions() }),
    'account.sessions.revoke': ({ sessionId }) => account.revokeSession(sessionId),
    'account.sessions.revokeOthers': () => account.revokeOtherSessions(),
    'account.export': () => account.exportData(),
    'account.delete': ({ password }) => account.deleteAccount(password),
  };
}
