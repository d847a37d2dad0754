import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useEffect, useState } from 'react';
import { Button, Form, Heading, Input, Label, TextField } from 'react-aria-components';
import { Empty, ErrorNotice, Loading, Saved } from '../components/notices';
import { useAction, useCommand } from '../components/use-command';
import { invoke } from '../ipc/client';
import { onEvent } from '../ipc/events';

type Account = DesktopCommandOutput<'account.status'>;

/**
 * The cloud from the desktop: sign in (the host keeps the session; this
 * window never sees a token), your workspaces, create one, and link this
 * computer's gateway to one in one click. Team management comes next.
 */
export function TeamScreen() {
  const [account, setAccount] = useState<Account>();
  const [notice, setNotice] = useState<string>();
  const action = useAction();

  useEffect(() => {
    void action.run(async () => setAccount(await invoke('account.status', {})));
    return onEvent((event) => {
      if (event.type !== 'account.changed') return;
      setAccount(event.payload.account);
      if (event.payload.reason === 'session-ended')
        setNotice(event.payload.message ?? 'The cloud ended this session. Sign in again.');
    });
  }, [action.run]);

  return (
    <section aria-labelledby="team-title" className="screen">
      <Heading level={2} id="team-title">
        Team
      </Heading>
      {notice ? (
        <p role="alert" className="notice notice-warn">
          {notice}
        </p>
      ) : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {!account ? <Loading>Asking the desktop host about your cloud account…</Loading> : null}
      {account && !account.cloudUrl ? <CloudChoice onChosen={setAccount} /> : null}
      {account?.cloudUrl && account.state === 'signed-out' ? (
        <SignIn
          cloudUrl={account.cloudUrl}
          onSignedIn={(status) => {
            setNotice(undefined);
            setAccount(status);
          }}
        />
      ) : null}
      {account?.state === 'signed-in' && account.user ? (
        <>
          <div className="form-inline">
            <p>
              Signed in as {account.user.email} at {account.cloudUrl}.
            </p>
            <Button
              isDisabled={action.busy}
              onPress={() => void action.run(async () => setAccount(await invoke('account.signOut', {})))}
            >
              Sign out
            </Button>
          </div>
          <Workspaces />
        </>
      ) : null}
    </section>
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
      <TextField isRequired value={email} onChange={setEmail} type="email" autoComplete="username">
        <Label>Email</Label>
        <Input />
      </TextField>
      <TextField
        isRequired
        value={password}
        onChange={setPassword}
        type="password"
        autoComplete="current-password"
      >
        <Label>Password</Label>
        <Input />
      </TextField>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <div className="form-actions">
        <Button type="submit" isDisabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </Button>
      </div>
    </Form>
  );
}

function Workspaces() {
  const workspaces = useCommand('workspaces.list', {});
  const [name, setName] = useState('');
  const [saved, setSaved] = useState<string>();
  const action = useAction();
  return (
    <>
      <Heading level={3}>Workspaces</Heading>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {workspaces.error ? (
        <ErrorNotice onRetry={() => void workspaces.reload()}>{workspaces.error}</ErrorNotice>
      ) : null}
      {workspaces.loading && !workspaces.data ? <Loading>Loading your workspaces…</Loading> : null}
      {workspaces.data && workspaces.data.items.length === 0 ? (
        <Empty title="No workspace yet.">
          <p>Create one below, or accept an invitation from a workspace owner.</p>
        </Empty>
      ) : null}
      {workspaces.data && workspaces.data.items.length > 0 ? (
        <ul className="cards" aria-label="Workspaces">
          {workspaces.data.items.map((workspace) => (
            <li key={workspace.id} className="card">
              <div>
                <p className="card-title">{workspace.name}</p>
                <p className="card-detail">{workspace.role === 'owner' ? 'Owner' : 'Member'}</p>
              </div>
              <div className="card-actions">
                <Button
                  aria-label={`Link this computer to ${workspace.name}`}
                  isDisabled={action.busy}
                  onPress={() =>
                    void action.run(async () => {
                      await invoke('gateways.linkThisComputer', { workspaceId: workspace.id });
                      setSaved(
                        `This computer's gateway is linked to ${workspace.name}: its agents appear here, and conversations with them sync.`,
                      );
                    })
                  }
                >
                  Link this computer
                </Button>
              </div>
            </li>
          ))}
        </ul>
      ) : null}
      <Form
        className="form-inline"
        aria-label="New workspace"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            const created = await invoke('workspaces.create', { name: name.trim() });
            setName('');
            await workspaces.reload();
            setSaved(`Workspace "${created.name}" created; you are its owner.`);
          });
        }}
      >
        <TextField isRequired value={name} onChange={setName} maxLength={100}>
          <Label>New workspace name</Label>
          <Input />
        </TextField>
        <Button type="submit" isDisabled={action.busy}>
          Create workspace
        </Button>
      </Form>
    </>
  );
}
