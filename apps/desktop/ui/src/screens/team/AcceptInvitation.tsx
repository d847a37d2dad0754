import { useState } from 'react';
import { Button, Form, Input, Label, TextField } from 'react-aria-components';
import { ErrorNotice, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { IpcError, invoke } from '../../ipc/client';

/**
 * The code inside what a person pastes: the bare code, the mail's "Code: …"
 * line, or a link carrying it (`?token=`, `?code=`, `#token=`, or as its last
 * path segment). The cloud mails a bare code today; links are accepted so a
 * code passed on as one still works.
 */
export function invitationToken(pasted: string): string {
  const text = pasted.trim().replace(/^code:\s*/i, '');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''));
  for (const params of [url.searchParams, fragment]) {
    const found = params.get('token') ?? params.get('code') ?? params.get('invitation');
    if (found) return found.trim();
  }
  return decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '');
}

/** The cloud's refusals of an invitation, with what to do next. */
function refusal(failure: unknown): Error {
  if (failure instanceof IpcError && failure.code === 'INVITATION_INVALID')
    return new Error(
      'This invitation code does not work: it may be mistyped, already used, revoked or expired. Ask the workspace owner for a new one.',
    );
  if (failure instanceof IpcError && failure.code === 'INVITATION_EMAIL_MISMATCH')
    return new Error(
      'This invitation was sent to another email address. Sign in with that address to accept it.',
    );
  return failure instanceof Error ? failure : new Error('Something went wrong.');
}

/** Joins a workspace with the code (or link) its owner passed on, or the one from the invitation mail. */
export function AcceptInvitation({ onAccepted }: { onAccepted: (workspaceId: string) => Promise<void> }) {
  const [pasted, setPasted] = useState('');
  const [saved, setSaved] = useState<string>();
  const action = useAction();

  async function accept() {
    setSaved(undefined);
    const token = invitationToken(pasted);
    const joined = await action.run(async () => {
      if (!token) throw new Error('Paste the invitation code or link first.');
      try {
        return await invoke('invitations.accept', { token });
      } catch (failure) {
        throw refusal(failure);
      }
    });
    if (!joined) return;
    setPasted('');
    await onAccepted(joined.workspaceId);
    setSaved(
      `You joined the workspace as ${joined.role === 'owner' ? 'an owner' : 'a member'}; it is chosen above.`,
    );
  }

  return (
    <Form
      className="form-inline"
      aria-label="Accept an invitation"
      onSubmit={(event) => {
        event.preventDefault();
        void accept();
      }}
    >
      <TextField isRequired value={pasted} onChange={setPasted} maxLength={2048}>
        <Label>Invitation code or link</Label>
        <Input autoComplete="off" />
      </TextField>
      <Button type="submit" isDisabled={action.busy}>
        Accept invitation
      </Button>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {saved ? <Saved>{saved}</Saved> : null}
    </Form>
  );
}
