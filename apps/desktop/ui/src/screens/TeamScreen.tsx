import { useEffect, useRef, useState } from 'react';
import {
  Button,
  Form,
  Heading,
  Input,
  Label,
  Tab,
  TabList,
  TabPanel,
  Tabs,
  TextField,
} from 'react-aria-components';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { Empty, ErrorNotice, Loading, Saved } from '../components/notices';
import { useCloudAccount } from '../components/use-cloud-account';
import { useAction, useCommand } from '../components/use-command';
import { invoke } from '../ipc/client';
import { onEvent } from '../ipc/events';
import { SignedOut } from './account/SignedOut';
import { AcceptInvitation } from './team/AcceptInvitation';
import { AuditPanel } from './team/AuditPanel';
import { GatewaysPanel } from './team/GatewaysPanel';
import { MembersPanel } from './team/MembersPanel';
import { OverviewPanel } from './team/OverviewPanel';
import type { PanelProps, WorkspaceView } from './team/panel';
import { TranscriptsPanel } from './team/TranscriptsPanel';
import { VaultPanel } from './team/VaultPanel';
import { WorkspaceAgentsPanel } from './team/WorkspaceAgentsPanel';

/**
 * The cloud from the desktop: sign in (the host keeps the session; this
 * window never sees a token), then one workspace at a time, its sections
 * shown by role. The cloud decides what a role may do; owner-only sections
 * are hidden from members only to spare them a refusal.
 */
export function TeamScreen() {
  const { account, setAccount, notice, setNotice, action } = useCloudAccount();

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
      {account && account.state === 'signed-out' ? (
        <SignedOut
          account={account}
          onChange={(status) => {
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
          <Workspaces userId={account.user.id} />
        </>
      ) : null}
    </section>
  );
}

function Workspaces({ userId }: { userId: string }) {
  const workspaces = useCommand('workspaces.list', {});
  const [chosenId, setChosenId] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const [left, setLeft] = useState<string>();
  const known = useRef(new Map<string, string>());
  /** Workspaces this person deleted here: what to say when they leave the list. */
  const removedHere = useRef(new Map<string, string>());
  const items = workspaces.data?.items;
  const chosen = items?.find((workspace) => workspace.id === chosenId) ?? items?.[0];

  // A workspace that was listed and is gone (removed, or deleted by its owner): say so, and leave it.
  useEffect(() => {
    if (!items) return;
    const now = new Map(items.map((workspace) => [workspace.id, workspace.name]));
    for (const [id, name] of known.current) {
      if (now.has(id)) continue;
      const said = removedHere.current.get(id);
      if (said) setSaved(said);
      else setLeft(`You are no longer a member of ${name}.`);
      removedHere.current.delete(id);
    }
    known.current = now;
  }, [items]);

  // Membership changes concerning this person, in any workspace (joined, role changed, removed).
  const reload = workspaces.reload;
  useEffect(
    () =>
      onEvent((event) => {
        if (event.type !== 'cloud.event') return;
        const cloud = event.payload.event;
        if (cloud.kind === 'member.changed' && cloud.memberId === userId) void reload();
      }),
    [reload, userId],
  );

  return (
    <>
      <Heading level={3}>Workspaces</Heading>
      {left ? (
        <p role="alert" className="notice notice-warn">
          {left}
        </p>
      ) : null}
      {saved ? <Saved>{saved}</Saved> : null}
      {workspaces.error ? (
        <ErrorNotice onRetry={() => void workspaces.reload()}>{workspaces.error}</ErrorNotice>
      ) : null}
      {workspaces.loading && !workspaces.data ? <Loading>Loading your workspaces…</Loading> : null}
      {items && items.length === 0 ? (
        <Empty title="No workspace yet.">
          <p>Create one below, or accept an invitation from a workspace owner.</p>
        </Empty>
      ) : null}
      {items && items.length > 0 ? (
        <ChoiceSelect
          label="Workspace"
          choices={items.map((workspace) => ({
            id: workspace.id,
            label: `${workspace.name} (${workspace.role === 'owner' ? 'Owner' : 'Member'})`,
          }))}
          value={chosen?.id}
          onChange={(id) => {
            setLeft(undefined);
            setChosenId(id);
          }}
        />
      ) : null}
      <div className="form-row">
        <NewWorkspace
          onCreated={async (created) => {
            await workspaces.reload();
            setChosenId(created.id);
            setSaved(`Workspace "${created.name}" created; you are its owner.`);
          }}
        />
        <AcceptInvitation
          onAccepted={async (workspaceId) => {
            await workspaces.reload();
            setChosenId(workspaceId);
          }}
        />
      </div>
      {chosen ? (
        <WorkspaceSections
          key={chosen.id}
          workspace={chosen}
          userId={userId}
          onWorkspacesChanged={(gone) => {
            if (gone) removedHere.current.set(gone.id, gone.message);
            void workspaces.reload();
          }}
        />
      ) : null}
    </>
  );
}

function NewWorkspace({ onCreated }: { onCreated: (created: WorkspaceView) => Promise<void> }) {
  const [name, setName] = useState('');
  const action = useAction();
  return (
    <Form
      className="form-inline"
      aria-label="New workspace"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const created = await invoke('workspaces.create', { name: name.trim() });
          setName('');
          await onCreated(created);
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
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
    </Form>
  );
}

/** One workspace's sections; Members and Audit are the owner's. */
function WorkspaceSections(props: PanelProps) {
  const owner = props.workspace.role === 'owner';
  return (
    <Tabs className="subtabs">
      <TabList aria-label={`Sections of ${props.workspace.name}`}>
        <Tab id="overview">Overview</Tab>
        {owner ? <Tab id="members">Members</Tab> : null}
        <Tab id="agents">Workspace agents</Tab>
        <Tab id="vault">Vault</Tab>
        <Tab id="gateways">Gateways</Tab>
        <Tab id="transcripts">Transcripts</Tab>
        {owner ? <Tab id="audit">Audit log</Tab> : null}
      </TabList>
      <TabPanel id="overview">
        <OverviewPanel {...props} />
      </TabPanel>
      {owner ? (
        <TabPanel id="members">
          <MembersPanel {...props} />
        </TabPanel>
      ) : null}
      <TabPanel id="agents">
        <WorkspaceAgentsPanel {...props} />
      </TabPanel>
      <TabPanel id="vault">
        <VaultPanel {...props} />
      </TabPanel>
      <TabPanel id="gateways">
        <GatewaysPanel {...props} />
      </TabPanel>
      <TabPanel id="transcripts">
        <TranscriptsPanel {...props} />
      </TabPanel>
      {owner ? (
        <TabPanel id="audit">
          <AuditPanel {...props} />
        </TabPanel>
      ) : null}
    </Tabs>
  );
}
