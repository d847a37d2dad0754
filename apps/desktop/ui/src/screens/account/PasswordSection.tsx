import { useState } from 'react';
import { Button, Form, Heading } from 'react-aria-components';
import { ErrorNotice, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import { PasswordField } from './fields';

/** Change the password: the current one first; the cloud signs out every other session. */
export function PasswordSection() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [saved, setSaved] = useState<string>();
  const [mismatch, setMismatch] = useState(false);
  const action = useAction();
  return (
    <section aria-labelledby="account-password">
      <Heading level={3} id="account-password">
        Password
      </Heading>
      <Form
        className="form"
        aria-labelledby="account-password"
        onSubmit={(event) => {
          event.preventDefault();
          setSaved(undefined);
          if (again !== next) {
            setMismatch(true);
            return;
          }
          void action.run(async () => {
            await invoke('account.changePassword', { currentPassword: current, newPassword: next });
            setCurrent('');
            setNext('');
            setAgain('');
            setSaved('Password changed. Your other sessions were signed out; this computer stays signed in.');
          });
        }}
      >
        <PasswordField
          label="Current password"
          value={current}
          onChange={setCurrent}
          autoComplete="current-password"
        />
        <PasswordField
          label="New password"
          value={next}
          onChange={(value) => {
            setNext(value);
            setMismatch(false);
          }}
          autoComplete="new-password"
        />
        <PasswordField
          label="New password again"
          value={again}
          onChange={(value) => {
            setAgain(value);
            setMismatch(false);
          }}
          autoComplete="new-password"
          isInvalid={mismatch}
        />
        {mismatch ? <ErrorNotice>The two new passwords are not the same.</ErrorNotice> : null}
        {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
        {saved ? <Saved>{saved}</Saved> : null}
        <div className="form-actions">
          <Button type="submit" isDisabled={action.busy}>
            {action.busy ? 'Changing…' : 'Change password'}
          </Button>
        </div>
      </Form>
    </section>
  );
}
