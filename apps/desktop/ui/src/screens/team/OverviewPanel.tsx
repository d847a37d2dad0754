import { useState } from 'react';
import { Button, Form, Heading, Input, Label, TextField } from 'react-aria-components';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNotice, Loading, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import type { PanelProps } from './panel';

/**
 * The workspace at a glance: link this computer to it in one click; an owner
 * renames or deletes it, a member reads what their role allows and may leave.
 * The cloud enforces the roles; this only spares a member a refusal.
 */
export function OverviewPanel(props: PanelProps) {
  const { workspace } = props;
  const owner = workspace.role === 'owner';
  const [saved, setSaved] = useState<string>();
  const [linking, setLinking] = useState<string>();
  const action = useAction();
  return (
    <section aria-label={`${workspace.name} overview`}>
      <Heading level={4}>{workspace.name}</Heading>
      <p>You are {owner ? 'its owner' : 'a member'}.</p>
      {owner ? null : (
        <p className="hint">
          As a member you can use the workspace's agents, see the names of its secrets (not their values),
          link your own computers and revoke your own gateways, and read or delete your own synced
          conversations. Its owners manage members, invitations, agents, secrets and the workspace itself.
        </p>
      )}
      {saved ? <Saved>{saved}</Saved> : null}
      {linking ? <Loading>{linking}</Loading> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <Button
        aria-label={`Link this computer to ${workspace.name}`}
        isDisabled={action.busy}
        onPress={() =>
          void action.run(async () => {
            setSaved(undefined);
            setLinking('Asking the cloud for a one-time code and linking this computer’s gateway…');
            try {
              await invoke('gateways.linkThisComputer', { workspaceId: workspace.id });
              setLinking('Linked. Waiting for the gateway to come online with the workspace’s agents…');
              setSaved(await linkOutcome(workspace.id, workspace.name));
            } finally {
              setLinking(undefined);
            }
          })
        }
      >
        Link this computer
      </Button>
      {owner ? <OwnerControls {...props} /> : <LeaveWorkspace {...props} />}
    </section>
  );
}

const ONLINE_WAIT_MS = 30_000;

/**
 * After `link`, the running gateway connects on its own within seconds: wait
 * (half a minute at most) until it says it is online with this workspace, so that
 * "its agents appear here" is true when it is said.
 */
async function linkOutcome(workspaceId: string, name: string): Promise<string> {
  const until = Date.now() + ONLINE_WAIT_MS;
  const hasAgents = (await invoke('workspaceAgents.list', { workspaceId, limit: 1 })).items.length > 0;
  for (;;) {
    const status = await invoke('gateway.status', {});
    if (status.state !== 'running')
      return `This computer is linked to ${name}. Its gateway is not running: start it (Status) and it connects.`;
    const online = status.link?.state === 'online' && status.link.workspaceId === workspaceId;
    // The workspace's agents follow the link's first frame: wait for them too, when it has any.
    if (online && (!hasAgents || (await invoke('agents.list', {})).agents.some((agent) => !agent.editable)))
      return `This computer's gateway is linked to ${name}: its agents appear here, and conversations with them sync.`;
    if (Date.now() > until)
      return `This computer is linked to ${name}, but its gateway is not online with the cloud yet (${status.link?.reason ?? status.link?.state ?? 'no link state'}); it keeps trying.`;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Rename and delete: the owner's. Deleting asks for the workspace's name, typed. */
function OwnerControls({ workspace, onWorkspacesChanged }: PanelProps) {
  const [name, setName] = useState(workspace.name);
  const [saved, setSaved] = useState<string>();
  const [deleting, setDeleting] = useState(false);
  const [typed, setTyped] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const action = useAction();

  async function rename() {
    setSaved(undefined);
    const renamed = await action.run(() =>
      invoke('workspaces.rename', { workspaceId: workspace.id, name: name.trim() }),
    );
    if (!renamed) return;
    setName(renamed.name);
    onWorkspacesChanged();
    setSaved(`The workspace is now called "${renamed.name}".`);
  }

  async function remove() {
    if (typed.trim() !== workspace.name) {
      setMismatch(true);
      return;
    }
    setDeleting(false);
    const done = await action.run(() => invoke('workspaces.delete', { workspaceId: workspace.id }));
    if (done) onWorkspacesChanged({ id: workspace.id, message: `Workspace "${workspace.name}" deleted.` });
  }

  return (
    <>
      <Heading level={5}>Rename or delete</Heading>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <Form
        className="form-inline"
        aria-label={`Rename ${workspace.name}`}
        onSubmit={(event) => {
          event.preventDefault();
          void rename();
        }}
      >
        <TextField isRequired value={name} onChange={setName} maxLength={100}>
          <Label>Workspace name</Label>
          <Input />
        </TextField>
        <Button type="submit" isDisabled={action.busy || name.trim() === workspace.name}>
          Rename
        </Button>
      </Form>
      <p className="hint">
        Deleting the workspace deletes everything in it for everyone: its agents, secrets, synced
        conversations, gateways' links and audit log. It cannot be undone.
      </p>
      <Button
        className="react-aria-Button danger"
        isDisabled={action.busy}
        onPress={() => {
          setTyped('');
          setMismatch(false);
          setDeleting(true);
        }}
      >
        Delete workspace
      </Button>
      <ConfirmDialog
        isOpen={deleting}
        onDismiss={() => setDeleting(false)}
        title={`Delete ${workspace.name}?`}
        confirmLabel="Delete workspace"
        onConfirm={() => void remove()}
      >
        <p>
          Everything in {workspace.name} is deleted for every member, at once and for good. Type its name to
          confirm.
        </p>
        <TextField
          value={typed}
          onChange={(value) => {
            setTyped(value);
            setMismatch(false);
          }}
        >
          <Label>Name of the workspace to delete</Label>
          <Input autoComplete="off" />
        </TextField>
        {mismatch ? (
          <p role="alert" className="notice notice-error">
            That is not the workspace's name. Type "{workspace.name}" exactly, or Cancel.
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}

/** A member may leave; the owner's way out is in Members (transfer ownership first). */
function LeaveWorkspace({ workspace, userId, onWorkspacesChanged }: PanelProps) {
  const [leaving, setLeaving] = useState(false);
  const action = useAction();
  return (
    <>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <Button isDisabled={action.busy} onPress={() => setLeaving(true)}>
        Leave this workspace
      </Button>
      <ConfirmDialog
        isOpen={leaving}
        onDismiss={() => setLeaving(false)}
        title={`Leave ${workspace.name}?`}
        confirmLabel="Leave workspace"
        onConfirm={() => {
          setLeaving(false);
          void action.run(async () => {
            await invoke('members.remove', { workspaceId: workspace.id, userId });
            onWorkspacesChanged();
          });
        }}
      >
        <p>
          You stop seeing its agents, secrets and conversations, and your gateways stop hearing it. An owner
          can invite you again.
        </p>
      </ConfirmDialog>
    </>
  );
}
