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
    /** Where the account's and the audit log's exports are saved. */
    exportDir: string;
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
  // Made on first use: the registry is also built without dependencies, to read the commands' names.
  let actions: ReturnType<typeof accountActions> | undefined;
  const account = () =>
    (actions ??= accountActions({ session: deps.cloud.session, exportDir: deps.cloud.exportDir }));
  return {
    'account.status': () => deps.cloud.session.status(),
    'account.signIn': ({ email, password }) => deps.cloud.session.signIn(email, password),
    'account.signOut': () => deps.cloud.session.signOut(),
    'account.sso.start': ({ provider }) => deps.cloud.sso.start(provider),
    'account.sso.providers': () => account().providers(),
    'account.signUp': (input) => account().signUp(input),
    'account.verifyEmail': ({ token }) => account().verifyEmail(token),
    'account.resendVerification': () => account().resendVerification(),
    'account.forgotPassword': ({ email }) => account().forgotPassword(email),
    'account.resetPassword': (input) => account().resetPassword(input),
    'account.profile': () => account().profile(),
    'account.changePassword': (input) => account().changePassword(input),
    'account.sessions.list': async () => ({ items: await account().sessions() }),
    'account.sessions.revoke': ({ sessionId }) => account().revokeSession(sessionId),
    'account.sessions.revokeOthers': () => account().revokeOtherSessions(),
    'account.export': () => account().exportData(),
    'account.delete': ({ password }) => account().deleteAccount(password),
  };
}
