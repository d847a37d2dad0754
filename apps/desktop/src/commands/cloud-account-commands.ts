import { ApiError } from '@multiclaw/protocol';
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
  };
}

/** The cloud session: status, password sign-in, single sign-on through the system browser, sign-out. No token leaves the host. */
export function cloudAccountCommands(
  deps: CloudCommandDeps,
): Pick<CommandHandlers, Extract<keyof CommandHandlers, `account.${string}`>> {
  const building = (): never => {
    throw new ApiError('INTERNAL', 'This command is being built.');
  };
  return {
    'account.status': () => deps.cloud.session.status(),
    'account.signIn': ({ email, password }) => deps.cloud.session.signIn(email, password),
    'account.signOut': () => deps.cloud.session.signOut(),
    'account.sso.start': ({ provider }) => deps.cloud.sso.start(provider),
    'account.sso.providers': building,
    'account.signUp': building,
    'account.verifyEmail': building,
    'account.resendVerification': building,
    'account.forgotPassword': building,
    'account.resetPassword': building,
    'account.profile': building,
    'account.changePassword': building,
    'account.sessions.list': building,
    'account.sessions.revoke': building,
    'account.sessions.revokeOthers': building,
    'account.export': building,
    'account.delete': building,
  };
}
