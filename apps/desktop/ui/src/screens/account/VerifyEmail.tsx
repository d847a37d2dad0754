import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Form, Input, Label, TextField } from 'react-aria-components';
import { ErrorNotice, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';

type Account = DesktopCommandOutput<'account.status'>;

/**
 * "Verify your email": the code the cloud mailed at sign-up (or on request)
 * typed here. Unverified accounts work; a verified address is what lets
 * single sign-on link to the account.
 */
export function VerifyEmail({
  email,
  onVerified,
}: {
  email: string;
  onVerified: (account: Account) => void;
}) {
  const [code, setCode] = useState('');
  const [sent, setSent] = useState<string>();
  const verify = useAction();
  const resend = useAction();
  return (
    <Form
      className="form"
      aria-label="Verify your email"
      onSubmit={(event) => {
        event.preventDefault();
        void verify.run(async () => {
          const account = await invoke('account.verifyEmail', { token: code.trim() });
          setCode('');
          onVerified(account);
        });
      }}
    >
      <p className="notice-title">Verify your email</p>
      <p>
        The cloud mailed a code to {email}. Type it here to prove the address is yours (the code works for 24
        hours).
      </p>
      <TextField isRequired value={code} onChange={setCode} autoComplete="one-time-code">
        <Label>Verification code</Label>
        <Input />
      </TextField>
      {verify.error ? <ErrorNotice>{verify.error}</ErrorNotice> : null}
      {resend.error ? <ErrorNotice>{resend.error}</ErrorNotice> : null}
      {sent ? <Saved>{sent}</Saved> : null}
      <div className="form-actions">
        <Button type="submit" isDisabled={verify.busy}>
          {verify.busy ? 'Verifying…' : 'Verify email'}
        </Button>
        <Button
          isDisabled={resend.busy}
          onPress={() => {
            setSent(undefined);
            void resend.run(async () => {
              await invoke('account.resendVerification', {});
              setSent(`A new code was mailed to ${email}.`);
            });
          }}
        >
          Send a new code
        </Button>
      </div>
    </Form>
  );
}
