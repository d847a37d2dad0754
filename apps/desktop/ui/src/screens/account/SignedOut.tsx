import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Form, Input, Label, TextField } from 'react-aria-components';
import { ErrorNotice, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import { ForgotPassword } from './ForgotPassword';
import { EmailField, PasswordField } from './fields';
import { SignUp } from './SignUp';
import { SingleSignOn } from './SingleSignOn';

type Account = DesktopCommandOutput<'account.status'>;

/**
 * What a signed-out person sees: choose the cloud, then sign in to it (email
 * and password, or single sign-on), create an account, or reset a forgotten
 * password.
 */
export function SignedOut({ account, onChange }: { account: Account; onChange: (account: Account) => void }) {
  if (!account.cloudUrl) return <CloudChoice onChosen={onChange} />;
  return <Access cloudUrl={account.cloudUrl} onSignedIn={onChange} />;
}

type Mode = 'sign-in' | 'sign-up' | 'forgot';

function Access({ cloudUrl, onSignedIn }: { cloudUrl: string; onSignedIn: (account: Account) => void }) {
  const [mode, setMode] = useState<Mode>('sign-in');
  const [notice, setNotice] = useState<string>();
  const go = (next: Mode) => {
    setNotice(undefined);
    setMode(next);
  };
  if (mode === 'sign-up')
    return (
      <>
        <SignUp cloudUrl={cloudUrl} onSignedIn={onSignedIn} />
        <div className="form-actions">
          <Button onPress={() => go('sign-in')}>I have an account: back to sign-in</Button>
        </div>
      </>
    );
  if (mode === 'forgot')
    return (
      <>
        <ForgotPassword
          onReset={(message) => {
            setMode('sign-in');
            setNotice(message);
          }}
        />
        <div className="form-actions">
          <Button onPress={() => go('sign-in')}>Back to sign-in</Button>
        </div>
      </>
    );
  return (
    <>
      {notice ? <Saved>{notice}</Saved> : null}
      <SignIn cloudUrl={cloudUrl} onSignedIn={onSignedIn} />
      <SingleSignOn />
      <div className="form-actions">
        <Button onPress={() => go('sign-up')}>Create an account</Button>
        <Button onPress={() => go('forgot')}>Forgot your password?</Button>
      </div>
    </>
  );
}

function CloudChoice({ onChosen }: { onChosen: (account: Account) => void }) {
  const [url, setUrl] = useState('');
  const action = useAction();
  return (
    <Form
      className="form"
      aria-label="Your cloud"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          await invoke('settings.update', { cloudUrl: url.trim() });
          onChosen(await invoke('account.status', {}));
        });
      }}
    >
      <p>
        Choose the MultiClaw Cloud your team uses. Nothing leaves this machine until you sign in and link.
      </p>
      <TextField isRequired value={url} onChange={setUrl} type="url">
        <Label>Cloud address</Label>
        <Input placeholder="https://cloud.example.com" />
      </TextField>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <div className="form-actions">
        <Button type="submit" isDisabled={action.busy}>
          Use this cloud
        </Button>
      </div>
    </Form>
  );
}

function SignIn({ cloudUrl, onSignedIn }: { cloudUrl: string; onSignedIn: (account: Account) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  return (
    <Form
      className="form"
      aria-label="Sign in"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const status = await invoke('account.signIn', { email: email.trim(), password });
          setPassword('');
          onSignedIn(status);
        });
      }}
    >
      <p>Sign in to {cloudUrl}.</p>
      <EmailField value={email} onChange={setEmail} />
      <PasswordField
        label="Password"
        value={password}
        onChange={setPassword}
        autoComplete="current-password"
      />
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <div className="form-actions">
        <Button type="submit" isDisabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </Button>
      </div>
    </Form>
  );
}
