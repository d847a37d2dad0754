import { useEffect, useState } from 'react';
import { Button, Input, Label, TextField } from 'react-aria-components';
import { ErrorNotice } from '../../components/notices';
import { useAction, useCommand } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import { onEvent } from '../../ipc/events';

/**
 * One "Sign in with …" button per provider the cloud offers. The host opens
 * the system browser and finishes the sign-in when the browser comes back
 * (the window hears `account.changed`); the address is shown too, for a
 * machine where no browser could be opened.
 */
export function SingleSignOn() {
  const providers = useCommand('account.sso.providers', {});
  const [started, setStarted] = useState<{ displayName: string; url: string; opened: boolean }>();
  const [failed, setFailed] = useState<string>();
  const action = useAction();

  useEffect(
    () =>
      onEvent((event) => {
        if (event.type !== 'account.changed' || event.payload.reason !== 'sso-failed') return;
        setStarted(undefined);
        setFailed(event.payload.message ?? 'Single sign-on did not complete. Try again.');
      }),
    [],
  );

  const items = providers.data?.items ?? [];
  // No provider (or a cloud that cannot say): email and password only.
  if (items.length === 0) return null;
  return (
    <div className="form">
      <p>Or sign in with your organisation's account:</p>
      <div className="form-actions">
        {items.map((provider) => (
          <Button
            key={provider.name}
            isDisabled={action.busy}
            onPress={() => {
              setFailed(undefined);
              setStarted(undefined);
              void action.run(async () => {
                const answer = await invoke('account.sso.start', { provider: provider.name });
                setStarted({ displayName: provider.displayName, ...answer });
              });
            }}
          >
            Sign in with {provider.displayName}
          </Button>
        ))}
      </div>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {failed ? <ErrorNotice>{failed}</ErrorNotice> : null}
      {started ? (
        <div className="notice notice-loading">
          <p role="status">
            {started.opened
              ? `Your browser was opened to sign in with ${started.displayName}: finish there, and this window follows. If it did not open, open this address in your browser:`
              : `Open this address in your browser to sign in with ${started.displayName}; this window follows when you are done:`}
          </p>
          <TextField isReadOnly value={started.url}>
            <Label>Sign-in address</Label>
            <Input />
          </TextField>
        </div>
      ) : null}
    </div>
  );
}
