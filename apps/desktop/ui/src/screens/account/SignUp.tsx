import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Form, Input, Label, TextField } from 'react-aria-components';
import { ErrorNotice } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import { EmailField, PasswordField } from './fields';

type Account = DesktopCommandOutput<'account.status'>;

/** A new account at the chosen cloud; the host signs in with it, and the cloud mails a code to verify the address. */
export function SignUp({
  cloudUrl,
  onSignedIn,
}: {
  cloudUrl: string;
  onSignedIn: (account: Account) => void;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const action = useAction();
  return (
    <Form
      className="form"
      aria-label="Create an account"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const trimmed = name.trim();
          const status = await invoke('account.signUp', {
            email: email.trim(),
            password,
            ...(trimmed ? { name: trimmed } : {}),
          });
          setPassword('');
          onSignedIn(status);
        });
      }}
    >
      <p>Create an account at {cloudUrl}.</p>
      <EmailField value={email} onChange={setEmail} />
      <PasswordField label="Password" value={password} onChange={setPassword} autoComplete="new-password" />
      <p className="hint">A long passphrase is best; the cloud refuses short and well-known passwords.</p>
      <TextField value={name} onChange={setName} maxLength={100} autoComplete="name">
        <Label>Your name (optional)</Label>
        <Input />
      </TextField>
      <p className="hint">
        The cloud mails you a code to verify your address: type it on the Account screen once you are signed
        in.
      </p>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <div className="form-actions">
        <Button type="submit" isDisabled={action.busy}>
          {action.busy ? 'Creating your account…' : 'Create account'}
        </Button>
      </div>
    </Form>
  );
}
