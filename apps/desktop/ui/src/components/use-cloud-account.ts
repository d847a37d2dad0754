import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useEffect, useState } from 'react';
import { invoke } from '../ipc/client';
import { onEvent } from '../ipc/events';
import { useAction } from './use-command';

export type CloudAccount = DesktopCommandOutput<'account.status'>;

/**
 * Who is signed in to which cloud, as the host says (never a token): read once,
 * then kept current by `account.changed`. `notice` is the host's words when a
 * session ended or sign-on failed, cleared by the next sign-in.
 */
export function useCloudAccount() {
  const [account, setAccount] = useState<CloudAccount>();
  const [notice, setNotice] = useState<string>();
  const action = useAction();
  useEffect(() => {
    void action.run(async () => setAccount(await invoke('account.status', {})));
    return onEvent((event) => {
      if (event.type !== 'account.changed') return;
      setAccount(event.payload.account);
      if (event.payload.reason === 'signed-in') setNotice(undefined);
      else if (event.payload.reason === 'session-ended')
        setNotice(event.payload.message ?? 'The cloud ended this session. Sign in again.');
      else if (event.payload.message) setNotice(event.payload.message);
    });
  }, [action.run]);
  return { account, setAccount, notice, setNotice, action };
}
