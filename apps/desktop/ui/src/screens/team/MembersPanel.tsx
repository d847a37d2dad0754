import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Form, Heading, Input, Label, TextField } from 'react-aria-components';
import { ChoiceSelect } from '../../components/ChoiceSelect';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Empty, ErrorNotice, Loading, Saved } from '../../components/notices';
import { useCloudEvents } from '../../components/use-cloud-events';
import { useAction, useCommand } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import type { PanelProps } from './panel';

type Member = DesktopCommandOutput<'members.list'>['items'][number];
type Invitation = DesktopCommandOutput<'invitations.list'>['items'][number];
type Role = Member['role'];
type Created = DesktopCommandOutput<'invitations.create'> & { email: string };

const ROLES = [
  { id: 'member', label: 'Member' },
  { id: 'owner', label: 'Owner' },
];
const roleWord = (role: Role) => (role === 'owner' ? 'Owner' : 'Member');
const who = (member: Member) => member.name ?? member.email;
const when = (iso: string) => new Date(iso).toLocaleString();

/** What waits for a confirmation: a removal, a transfer, demoting oneself, revoking an invitation. */
type Pending =
  | { kind: 'remove' | 'transfer' | 'demote-self'; member: Member }
  | { kind: 'revoke'; invitation: Invitation };

/**
 * The owner's Members section: who is in the workspace and with which role,
 * invitations (the code shown once, to pass on) and the pending ones. The
 * last-owner rule is shown before anyone runs into it; the cloud enforces it
 * (and every role) anyway. Lists follow the cloud's `member.changed` events.
 */
export function MembersPanel({ workspace, userId, onWorkspacesChanged }: PanelProps) {
  const input = { workspaceId: workspace.id };
  const members = useCommand('members.list', input);
  const invitations = useCommand('invitations.list', input);
  const [saved, setSaved] = useState<string>();
  const [pending, setPending] = useState<Pending>();
  const action = useAction();
  useCloudEvents(workspace.id, ['member.changed'], (event) => {
    // One's own role or membership changed: the switcher reloads, and an ex-owner's section goes.
    if (event.memberId === userId) return;
    void members.reload();
    void invitations.reload();
  });
  // Another owner invited someone, revoked an invitation, or it was accepted.
  useCloudEvents(workspace.id, ['invitation.changed'], () => void invitations.reload());

  const items = members.data?.items;
  const owners = items?.filter((member) => member.role === 'owner').length ?? 0;

  /** Runs a change, then shows its confirmation once the lists already show it. */
  async function change(call: () => Promise<unknown>, message: string) {
    setSaved(undefined);
    setPending(undefined);
    if ((await action.run(call)) === undefined) return;
    await Promise.all([members.reload(), invitations.reload()]);
    setSaved(message);
  }

  /** A change of one's own role or membership: the switcher shows it, and this owner's section goes. */
  async function changeMine(call: () => Promise<unknown>) {
    setPending(undefined);
    if ((await action.run(call)) !== undefined) onWorkspacesChanged();
  }

  function setRole(member: Member, role: Role) {
    if (role === member.role) return;
    if (member.userId === userId) {
      setPending({ kind: 'demote-self', member });
      return;
    }
    void change(
      () => invoke('members.changeRole', { ...input, userId: member.userId, role }),
      `${who(member)} is now ${role === 'owner' ? 'an owner' : 'a member'}.`,
    );
  }

  function confirm() {
    if (!pending) return;
    if (pending.kind === 'revoke') {
      const { invitation } = pending;
      void change(
        () => invoke('invitations.revoke', { ...input, invitationId: invitation.id }),
        `The invitation for ${invitation.email} is revoked; its code no longer works.`,
      );
      return;
    }
    const { member } = pending;
    const target = { ...input, userId: member.userId };
    if (pending.kind === 'transfer') void changeMine(() => invoke('members.transfer', target));
    if (pending.kind === 'demote-self')
      void changeMine(() => invoke('members.changeRole', { ...target, role: 'member' }));
    if (pending.kind === 'remove' && member.userId === userId)
      void changeMine(() => invoke('members.remove', target));
    if (pending.kind === 'remove' && member.userId !== userId)
      void change(() => invoke('members.remove', target), `${who(member)} was removed.`);
  }

  return (
    <section aria-label={`Members of ${workspace.name}`}>
      <Heading level={4}>Members</Heading>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {members.error ? (
        <ErrorNotice onRetry={() => void members.reload()}>{members.error}</ErrorNotice>
      ) : null}
      {members.loading && !items ? <Loading>Loading the members…</Loading> : null}
      {items ? (
        <ul className="cards" aria-label={`People in ${workspace.name}`}>
          {items.map((member) => (
            <MemberCard
              key={member.userId}
              member={member}
              me={member.userId === userId}
              lastOwner={member.role === 'owner' && owners === 1}
              busy={action.busy}
              onRole={(role) => setRole(member, role)}
              onRemove={() => setPending({ kind: 'remove', member })}
              onTransfer={() => setPending({ kind: 'transfer', member })}
            />
          ))}
        </ul>
      ) : null}

      <InviteForm workspaceId={workspace.id} onInvited={() => invitations.reload()} />

      <Heading level={5}>Pending invitations</Heading>
      {invitations.error ? (
        <ErrorNotice onRetry={() => void invitations.reload()}>{invitations.error}</ErrorNotice>
      ) : null}
      {invitations.data && invitations.data.items.length === 0 ? (
        <Empty title="No pending invitations." />
      ) : null}
      {invitations.data && invitations.data.items.length > 0 ? (
        <ul className="cards" aria-label="Pending invitations">
          {invitations.data.items.map((invitation) => (
            <li key={invitation.id} className="card">
              <div>
                <p className="card-title">{invitation.email}</p>
                <p className="card-detail">
                  As {roleWord(invitation.role).toLowerCase()} · valid until {when(invitation.expiresAt)}
                </p>
              </div>
              <div className="card-actions">
                <Button
                  aria-label={`Revoke the invitation for ${invitation.email}`}
                  isDisabled={action.busy}
                  onPress={() => setPending({ kind: 'revoke', invitation })}
                >
                  Revoke
                </Button>
              </div>
            </li>
          ))}
        </ul>
      ) : null}

      <ConfirmDialog
        isOpen={pending !== undefined}
        onDismiss={() => setPending(undefined)}
        {...confirmation(pending, workspace.name, userId)}
        onConfirm={confirm}
      />
    </section>
  );
}

/** The words of each confirmation: what happens, to whom, and what it means for the person confirming. */
function confirmation(pending: Pending | undefined, workspaceName: string, userId: string) {
  if (!pending) return { title: '', confirmLabel: '', children: null };
  if (pending.kind === 'revoke')
    return {
      title: `Revoke the invitation for ${pending.invitation.email}?`,
      confirmLabel: 'Revoke invitation',
      children: <p>Its code stops working. You can invite them again later.</p>,
    };
  const name = who(pending.member);
  if (pending.kind === 'transfer')
    return {
      title: `Make ${name} the owner of ${workspaceName}?`,
      confirmLabel: 'Transfer ownership',
      children: (
        <p>
          {name} becomes the owner and you become a member: you will no longer manage members, invitations,
          agents, secrets or the workspace itself, unless an owner makes you an owner again.
        </p>
      ),
    };
  if (pending.kind === 'demote-self')
    return {
      title: 'Make yourself a member?',
      confirmLabel: 'Become a member',
      children: (
        <p>
          You will no longer manage members, invitations, agents, secrets or {workspaceName} itself, unless an
          owner makes you an owner again.
        </p>
      ),
    };
  return pending.member.userId === userId
    ? {
        title: `Leave ${workspaceName}?`,
        confirmLabel: 'Leave workspace',
        children: <p>You stop seeing everything in it. An owner can invite you again.</p>,
      }
    : {
        title: `Remove ${name} from ${workspaceName}?`,
        confirmLabel: 'Remove member',
        children: (
          <p>
            They stop seeing everything in it at once, and their gateways stop hearing it. You can invite them
            again later.
          </p>
        ),
      };
}

/** One person: name, email, role (changeable), and what may be done about them. */
function MemberCard(props: {
  member: Member;
  me: boolean;
  /** The workspace's only owner: their role and membership cannot change until there is another. */
  lastOwner: boolean;
  busy: boolean;
  onRole: (role: Role) => void;
  onRemove: () => void;
  onTransfer: () => void;
}) {
  const { member, me, lastOwner, busy } = props;
  const hintId = `last-owner-${member.userId}`;
  return (
    <li className="card">
      <div>
        <p className="card-title">
          {who(member)}
          {me ? ' (you)' : ''}
        </p>
        <p className="card-detail">
          {member.name ? `${member.email} · ` : ''}
          {roleWord(member.role)} · joined {when(member.joinedAt)}
        </p>
        {lastOwner ? (
          <p className="hint" id={hintId}>
            {me ? 'You are' : `${who(member)} is`} the only owner, and a workspace always keeps one: make
            someone else an owner (or transfer ownership) before {me ? 'you become' : 'they become'} a member
            or
            {me ? ' leave' : ' are removed'}.
          </p>
        ) : null}
      </div>
      <div className="card-actions">
        <ChoiceSelect
          label={`Role of ${member.email}`}
          choices={ROLES}
          value={member.role}
          isDisabled={busy || lastOwner}
          onChange={(role) => props.onRole(role as Role)}
        />
        {!me && member.role === 'member' ? (
          <Button
            aria-label={`Transfer ownership to ${member.email}`}
            isDisabled={busy}
            onPress={props.onTransfer}
          >
            Transfer ownership
          </Button>
        ) : null}
        <Button
          aria-label={me ? 'Leave this workspace' : `Remove ${member.email}`}
          {...(lastOwner ? { 'aria-describedby': hintId } : {})}
          isDisabled={busy || lastOwner}
          onPress={props.onRemove}
        >
          {me ? 'Leave' : 'Remove'}
        </Button>
      </div>
    </li>
  );
}

/** Invite by email; the answer's code is shown here once, for the owner to pass on, and forgotten on "Done". */
function InviteForm({ workspaceId, onInvited }: { workspaceId: string; onInvited: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [created, setCreated] = useState<Created>();
  const [copied, setCopied] = useState<string>();
  const action = useAction();

  async function invite() {
    setCreated(undefined);
    setCopied(undefined);
    const address = email.trim();
    const answer = await action.run(() =>
      invoke('invitations.create', { workspaceId, email: address, role }),
    );
    if (!answer) return;
    setEmail('');
    await onInvited();
    setCreated({ ...answer, email: address });
  }

  async function copy(token: string) {
    try {
      await navigator.clipboard.writeText(token);
      setCopied('The code is copied.');
    } catch {
      setCopied('This window may not use the clipboard: select the code and copy it.');
    }
  }

  return (
    <>
      <Heading level={5}>Invite someone</Heading>
      <Form
        className="form-inline"
        aria-label="Invite someone"
        onSubmit={(event) => {
          event.preventDefault();
          void invite();
        }}
      >
        <TextField isRequired type="email" value={email} onChange={setEmail} maxLength={254}>
          <Label>Email address</Label>
          <Input autoComplete="off" />
        </TextField>
        <ChoiceSelect label="Invite as" choices={ROLES} value={role} onChange={(id) => setRole(id as Role)} />
        <Button type="submit" isDisabled={action.busy}>
          Invite
        </Button>
      </Form>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {created ? (
        <div role="status" className="notice notice-ok">
          <p>
            {created.email} is invited. Pass this code on to them yourself, by a way you trust: it is shown
            only this once. They sign in to MultiClaw as {created.email} and paste it under "Accept an
            invitation" on the Team screen. It works once, until {when(created.expiresAt)}. The cloud also
            mails them a code of their own.
          </p>
          <div className="form-inline">
            <TextField isReadOnly value={created.token}>
              <Label>Invitation code</Label>
              <Input onFocus={(event) => event.currentTarget.select()} />
            </TextField>
            <Button onPress={() => void copy(created.token)}>Copy code</Button>
            <Button
              onPress={() => {
                setCreated(undefined);
                setCopied(undefined);
              }}
            >
              Done
            </Button>
          </div>
          {copied ? <p>{copied}</p> : null}
        </div>
      ) : null}
    </>
  );
}
