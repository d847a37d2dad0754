import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNotice } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import { PasswordField } from './fields';

type Account = DesktopCommandOutput<'account.status'>;

/**
 * Deleting the account: the password again (the cloud checks it, under the
 * sign-in lockout), then a confirmation; then this computer is signed out.
 */
export function DeleteAccountSection({ onDeleted }: { onDeleted: (account: Account) => void }) {
  const [password, setPassword] = useState('');
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  return (
    <section aria-labelledby="account-delete">
      <Heading level={3} id="account-delete">
        Delete my account
      </Heading>
      <div className="form">
        <p>
          This deletes your account at the cloud with your sessions, memberships and synced conversations.
          Workspaces where you are the only member go with it. If you are the only owner of a workspace with
          other members, make one of them owner first.
        </p>
        <PasswordField
          label="Your password, to confirm it is you"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
          isRequired={false}
        />
        <p className="hint">
          Signed up with single sign-on and have no password? Leave it empty: the cloud then asks that you
          signed in within the last five minutes.
        </p>
        {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
        <div className="form-actions">
          <Button
            className="react-aria-Button danger"
            isDisabled={action.busy}
            onPress={() => {
              action.clearError();
              setConfirming(true);
            }}
          >
            {action.busy ? 'Deleting…' : 'Delete my account…'}
          </Button>
        </div>
      </div>
      <ConfirmDialog
        isOpen={confirming}
        onDismiss={() => setConfirming(false)}
        title="Delete your account?"
        confirmLabel="Delete my account for good"
        onConfirm={() => {
          setConfirming(false);
          void action.run(async () => {
            const account = await invoke('account.delete', password ? { password } : {});
            setPassword('');
            onDeleted(account);
          });
        }}
      >
        <p>This cannot be undone. Export your data first if you want to keep a copy.</p>
      </ConfirmDialog>
    </section>
  );
}
