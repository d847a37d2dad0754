import { useState } from 'react';
import { Button, Form, Input, Label, TextField } from 'react-aria-components';
import { ErrorNotice, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import { EmailField, PasswordField } from './fields';

/**
 * Forgot password: the address first (the cloud answers the same whether or
 * not it has an account), then the mailed code and a new password.
 */
export function ForgotPassword({ onReset }: { onReset: (message: string) => void }) {
  const [email, setEmail] = useState('');
  const [asked, setAsked] = useState<string>();
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();

  if (!asked)
    return (
      <Form
        className="form"
        aria-label="Forgot password"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            await invoke('account.forgotPassword', { email: email.trim() });
            setAsked(email.trim());
          });
        }}
      >
        <p>Type the address of your account: the cloud mails it a code to set a new password.</p>
        <EmailField value={email} onChange={setEmail} />
        {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
        <div className="form-actions">
          <Button type="submit" isDisabled={action.busy}>
            Mail me a reset code
          </Button>
        </div>
      </Form>
    );

  return (
    <Form
      className="form"
      aria-label="Set a new password"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          await invoke('account.resetPassword', { token: code.trim(), password });
          setPassword('');
          onReset(
            'Your password was changed, and every session of the account was signed out. Sign in with the new password.',
          );
        });
      }}
    >
      <Saved>
        If an account exists for {asked}, a code was mailed to it. It works for 30 minutes; an account made
        with single sign-on gets none (sign in with its provider).
      </Saved>
      <TextField isRequired value={code} onChange={setCode} autoComplete="one-time-code">
        <Label>Reset code</Label>
        <Input />
      </TextField>
      <PasswordField
        label="New password"
        value={password}
        onChange={setPassword}
        autoComplete="new-password"
      />
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <div className="form-actions">
        <Button type="submit" isDisabled={action.busy}>
          Set the new password
        </Button>
        <Button onPress={() => setAsked(undefined)}>Use another address</Button>
      </div>
    </Form>
  );
}
