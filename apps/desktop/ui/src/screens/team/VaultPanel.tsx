import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useEffect, useState } from 'react';
import { Button, Form, Heading, Input, Label, Text, TextField } from 'react-aria-components';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { GrantChoices } from '../../components/GrantChoices';
import { Empty, ErrorNotice, Loading, Saved } from '../../components/notices';
import { useCloudEvents } from '../../components/use-cloud-events';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import type { PanelProps } from './panel';
import { usePagedList, useWholeList } from './team-lists';

type Secret = DesktopCommandOutput<'secrets.list'>['items'][number];

/** How long a revealed value stays on screen. */
const SHOWN_FOR_SECONDS = 30;
const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * A revealed value, held in this component's state only (never in storage)
 * and dropped after SHOWN_FOR_SECONDS, on "Hide", or when the panel goes.
 */
function useShownBriefly() {
  const [shown, setShown] = useState<{ secretId: string; value: string }>();
  useEffect(() => {
    if (!shown) return;
    const timer = setTimeout(() => setShown(undefined), SHOWN_FOR_SECONDS * 1000);
    return () => clearTimeout(timer);
  }, [shown]);
  return { shown, show: setShown, hide: () => setShown(undefined) };
}

/**
 * The workspace's vault. Everyone sees names and metadata; owners create,
 * change, delete and grant secrets, and reveal a value after a confirmation.
 * The list follows the cloud's events live.
 */
export function VaultPanel({ workspace }: PanelProps) {
  const owner = workspace.role === 'owner';
  const secrets = usePagedList('secrets.list', { workspaceId: workspace.id, limit: 100 });
  const agents = useWholeList('workspaceAgents.list', { workspaceId: workspace.id, limit: 100 });
  const [editing, setEditing] = useState<{ secret?: Secret }>();
  const [deleting, setDeleting] = useState<Secret>();
  const [revealing, setRevealing] = useState<Secret>();
  const [saved, setSaved] = useState<string>();
  const action = useAction();
  const value = useShownBriefly();
  // Grants live on both sides: a change of either list can change what the other shows.
  useCloudEvents(workspace.id, ['secret.changed', 'agent.changed'], (event) => {
    // A value on screen may be out of date (or its secret gone) once the secret changes: hide it.
    if (event.secretId && event.secretId === value.shown?.secretId) value.hide();
    void secrets.reload();
    void agents.reload();
  });

  const agentChoices = (agents.items ?? []).map(({ id, name }) => ({ id, name })) ?? [];
  const agentName = new Map(agentChoices.map((agent) => [agent.id, agent.name]));

  async function changed(message: string) {
    setEditing(undefined);
    // The confirmation shows once the list already shows the change.
    await Promise.all([secrets.reload(), agents.reload()]);
    setSaved(message);
  }

  async function save(secret: Secret | undefined, { name, value, ...rest }: SecretInput) {
    const done = await action.run(() =>
      secret
        ? invoke('secrets.update', {
            workspaceId: workspace.id,
            secretId: secret.id,
            changes: { ...(value ? { value } : {}), ...rest },
          })
        : invoke('secrets.create', {
            workspaceId: workspace.id,
            secret: { name, value: value ?? '', ...rest },
          }),
    );
    if (done) await changed(secret ? `Secret "${done.name}" saved.` : `Secret "${done.name}" created.`);
  }

  async function reveal(secret: Secret) {
    setRevealing(undefined);
    setSaved(undefined);
    const answer = await action.run(() =>
      invoke('secrets.reveal', { workspaceId: workspace.id, secretId: secret.id }),
    );
    if (answer) value.show({ secretId: secret.id, value: answer.value });
  }

  async function remove(secret: Secret) {
    const done = await action.run(() =>
      invoke('secrets.delete', { workspaceId: workspace.id, secretId: secret.id }),
    );
    setDeleting(undefined);
    if (done) await changed(`Secret "${secret.name}" deleted.`);
  }

  const items = secrets.items;
  return (
    <section aria-label={`Vault of ${workspace.name}`}>
      <div className="screen-head">
        <Heading level={4}>Vault</Heading>
        {owner ? (
          <Button
            isDisabled={editing !== undefined}
            onPress={() => {
              setSaved(undefined);
              setEditing({});
            }}
          >
            New secret
          </Button>
        ) : null}
      </div>
      <p className="hint">
        {owner
          ? `Values are stored encrypted and never listed. A reveal shows one for ${SHOWN_FOR_SECONDS} seconds and is recorded in the audit log; agents use the secrets granted to them through each member's linked gateway.`
          : "Values are for the workspace's owners: you see each secret's name and what it is for. An agent granted a secret uses it through your linked gateway without showing it to you."}
      </p>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {owner && editing ? (
        <SecretForm
          key={editing.secret?.id ?? 'new'}
          secret={editing.secret}
          agents={agentChoices}
          noAgents={
            agents.items
              ? 'No workspace agents yet: grant this secret to one from Workspace agents once it exists.'
              : (agents.error ?? "Loading the workspace's agents…")
          }
          busy={action.busy}
          onSave={(input) => void save(editing.secret, input)}
          onCancel={() => setEditing(undefined)}
        />
      ) : null}
      {secrets.error ? (
        <ErrorNotice onRetry={() => void secrets.reload()}>{secrets.error}</ErrorNotice>
      ) : null}
      {secrets.loading && !secrets.items ? <Loading>Loading the vault's secrets…</Loading> : null}
      {items && items.length === 0 ? (
        <Empty title="No secrets yet.">
          <p>
            {owner
              ? 'Add one with "New secret", for example the OPENAI_API_KEY your workspace agents use.'
              : 'An owner of the workspace adds them.'}
          </p>
        </Empty>
      ) : null}
      {items && items.length > 0 ? (
        <ul className="cards" aria-label={`Secrets of ${workspace.name}`}>
          {items.map((secret) => (
            <li key={secret.id} className="card card-wide" aria-label={`Secret ${secret.name}`}>
              <div>
                <p className="card-title">{secret.name}</p>
                {secret.description ? <p className="card-detail">{secret.description}</p> : null}
                <p className="card-detail">
                  Version {secret.version} · changed {when(secret.updatedAt)}
                </p>
                <p className="card-detail">
                  Granted to:{' '}
                  {secret.agentIds.length === 0
                    ? 'no agent'
                    : secret.agentIds.map((id) => agentName.get(id) ?? 'an agent not listed').join(', ')}
                </p>
              </div>
              {value.shown?.secretId === secret.id ? (
                <div className="notice notice-warn">
                  <p>
                    Value of {secret.name} (hidden again within {SHOWN_FOR_SECONDS} seconds):{' '}
                    <code>{value.shown.value}</code>
                  </p>
                  <Button aria-label={`Hide the value of ${secret.name}`} onPress={value.hide}>
                    Hide
                  </Button>
                </div>
              ) : null}
              {owner ? (
                <div className="card-actions">
                  <Button
                    aria-label={`Reveal ${secret.name}`}
                    isDisabled={action.busy || value.shown?.secretId === secret.id}
                    onPress={() => setRevealing(secret)}
                  >
                    Reveal
                  </Button>
                  <Button
                    aria-label={`Change ${secret.name}`}
                    isDisabled={editing !== undefined}
                    onPress={() => {
                      setSaved(undefined);
                      setEditing({ secret });
                    }}
                  >
                    Change
                  </Button>
                  <Button aria-label={`Delete ${secret.name}`} onPress={() => setDeleting(secret)}>
                    Delete
                  </Button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {secrets.hasMore ? (
        <Button isDisabled={secrets.loading} onPress={() => void secrets.loadMore()}>
          Load more secrets
        </Button>
      ) : null}
      <ConfirmDialog
        isOpen={revealing !== undefined}
        onDismiss={() => setRevealing(undefined)}
        title={`Reveal the value of ${revealing?.name}?`}
        confirmLabel="Reveal value"
        onConfirm={() => revealing && void reveal(revealing)}
      >
        <p>
          It shows on this screen for {SHOWN_FOR_SECONDS} seconds, where anyone who can see your screen can
          read it. The reveal is recorded in the workspace's audit log.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        isOpen={deleting !== undefined}
        onDismiss={() => setDeleting(undefined)}
        title={`Delete ${deleting?.name}?`}
        confirmLabel="Delete secret"
        onConfirm={() => deleting && void remove(deleting)}
      >
        <p>
          Its value is gone for good. Agents it was granted to lose it: gateways drop it on their next update.
        </p>
      </ConfirmDialog>
    </section>
  );
}

interface SecretInput {
  name: string;
  /** Absent when changing a secret without a new value. */
  value?: string;
  description: string | null;
  agentIds: string[];
}

/** A new secret (name, value, description, grants), or a change to one (a new value if typed, description, grants). */
function SecretForm(props: {
  secret: Secret | undefined;
  agents: { id: string; name: string }[];
  /** What the agents' choice says when there is none to choose (none yet, loading, or why not). */
  noAgents: string;
  busy: boolean;
  onSave: (input: SecretInput) => void;
  onCancel: () => void;
}) {
  const { secret } = props;
  const [name, setName] = useState(secret?.name ?? '');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState(secret?.description ?? '');
  const [agentIds, setAgentIds] = useState(secret?.agentIds ?? []);
  return (
    <Form
      className="form"
      aria-label={secret ? `Change secret ${secret.name}` : 'New secret'}
      onSubmit={(event) => {
        event.preventDefault();
        // The value leaves this form's memory as soon as it is sent.
        setValue('');
        props.onSave({
          name: name.trim(),
          ...(value ? { value } : {}),
          description: description.trim() || null,
          agentIds,
        });
      }}
    >
      {secret ? null : (
        <TextField
          isRequired
          value={name}
          onChange={setName}
          maxLength={128}
          pattern="[A-Za-z_][A-Za-z0-9_.\-]*"
          autoFocus
        >
          <Label>Secret name</Label>
          <Input placeholder="OPENAI_API_KEY" spellCheck={false} />
          <Text slot="description">
            A letter or _ first, then letters, digits, _, . or -. It cannot change later.
          </Text>
        </TextField>
      )}
      <TextField
        isRequired={!secret}
        type="password"
        value={value}
        onChange={setValue}
        autoComplete="off"
        autoFocus={Boolean(secret)}
      >
        <Label>{secret ? `New value for ${secret.name} (optional)` : 'Value'}</Label>
        <Input spellCheck={false} />
        <Text slot="description">
          {secret
            ? 'Leave empty to keep the current value; a new value makes a new version.'
            : 'Stored encrypted in the cloud; shown again only to an owner who reveals it.'}
        </Text>
      </TextField>
      <TextField value={description} onChange={setDescription} maxLength={1000}>
        <Label>Description (optional)</Label>
        <Input />
      </TextField>
      <GrantChoices
        label="Agents that may use this secret"
        choices={props.agents}
        value={agentIds}
        onChange={setAgentIds}
        empty={props.noAgents}
      />
      <div className="form-actions">
        <Button type="submit" isDisabled={props.busy}>
          Save secret
        </Button>
        <Button onPress={props.onCancel}>Cancel</Button>
      </div>
    </Form>
  );
}
