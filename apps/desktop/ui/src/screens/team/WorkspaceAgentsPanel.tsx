import type { DesktopCommandInput, DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Form, Heading, Input, Label, Text, TextArea, TextField } from 'react-aria-components';
import { ChoiceSelect } from '../../components/ChoiceSelect';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { GrantChoices } from '../../components/GrantChoices';
import { Empty, ErrorNotice, Loading, Saved } from '../../components/notices';
import { useCloudEvents } from '../../components/use-cloud-events';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import type { PanelProps } from './panel';
import { usePagedList, useWholeList } from './team-lists';

type Agent = DesktopCommandOutput<'workspaceAgents.list'>['items'][number];
type AgentInput = DesktopCommandInput<'workspaceAgents.create'>['agent'];
type Provider = AgentInput['provider'];

/** Every provider kind the cloud accepts, in words (the type makes a new kind a compile error here). */
const PROVIDERS: Record<Provider, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  'openai-compatible': 'OpenAI-compatible server (each gateway sets its address)',
};
const isProvider = (id: string): id is Provider => Object.hasOwn(PROVIDERS, id);

/** The secret a gateway takes the provider's API key from when an agent has several granted (apps/gateway provider-kinds). */
const KEY_NAMES: Record<Provider, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  'openai-compatible': 'OPENAI_COMPATIBLE_API_KEY',
};

/** The form's fields as typed: numbers and tools stay text until saving. */
interface Draft {
  name: string;
  description: string;
  provider: Provider;
  model: string;
  systemPrompt: string;
  temperature: string;
  maxTokens: string;
  topP: string;
  tools: string;
  secretIds: string[];
}

function draftOf(agent?: Agent): Draft {
  return {
    name: agent?.name ?? '',
    description: agent?.description ?? '',
    provider: agent?.provider ?? 'openai',
    model: agent?.model ?? '',
    systemPrompt: agent?.systemPrompt ?? '',
    temperature: agent?.params.temperature?.toString() ?? '',
    maxTokens: agent?.params.maxTokens?.toString() ?? '',
    topP: agent?.params.topP?.toString() ?? '',
    tools: agent?.tools.join(', ') ?? '',
    secretIds: agent?.secretIds ?? [],
  };
}

function numberOf(text: string, what: string): number | undefined {
  if (!text.trim()) return undefined;
  const value = Number(text.trim());
  if (!Number.isFinite(value)) throw new Error(`${what} must be a number.`);
  return value;
}

/** The agent the cloud is sent; the ranges are checked against the protocol's schema by `invoke`. */
function agentOf(draft: Draft): AgentInput {
  const temperature = numberOf(draft.temperature, 'Temperature');
  const maxTokens = numberOf(draft.maxTokens, 'Longest reply');
  const topP = numberOf(draft.topP, 'Top P');
  return {
    name: draft.name.trim(),
    description: draft.description.trim() || null,
    provider: draft.provider,
    model: draft.model.trim(),
    systemPrompt: draft.systemPrompt,
    params: {
      ...(temperature === undefined ? {} : { temperature }),
      ...(maxTokens === undefined ? {} : { maxTokens }),
      ...(topP === undefined ? {} : { topP }),
    },
    tools: [...new Set(draft.tools.split(/[\s,]+/).filter(Boolean))],
    secretIds: draft.secretIds,
  };
}

function paramsText(params: Agent['params']): string {
  const parts = [
    params.temperature === undefined ? undefined : `temperature ${params.temperature}`,
    params.maxTokens === undefined ? undefined : `longest reply ${params.maxTokens} tokens`,
    params.topP === undefined ? undefined : `top P ${params.topP}`,
  ].filter(Boolean);
  return parts.length > 0 ? `Parameters: ${parts.join(' · ')}` : "Parameters: the model's defaults";
}

/**
 * The workspace's agents: every member sees them (and uses them through their
 * linked gateway); owners create, edit and delete them, and choose which of
 * the vault's secrets each may use. Lists follow the cloud's events live.
 */
export function WorkspaceAgentsPanel({ workspace }: PanelProps) {
  const owner = workspace.role === 'owner';
  const agents = usePagedList('workspaceAgents.list', { workspaceId: workspace.id, limit: 100 });
  const secrets = useWholeList('secrets.list', { workspaceId: workspace.id, limit: 100 });
  const [editing, setEditing] = useState<{ agent?: Agent }>();
  const [deleting, setDeleting] = useState<Agent>();
  const [saved, setSaved] = useState<string>();
  const action = useAction();
  // Grants live on both sides: a change of either list can change what the other shows.
  useCloudEvents(workspace.id, ['agent.changed', 'secret.changed'], () => {
    void agents.reload();
    void secrets.reload();
  });

  const secretChoices = (secrets.items ?? []).map(({ id, name }) => ({ id, name })) ?? [];
  const secretName = new Map(secretChoices.map((secret) => [secret.id, secret.name]));

  async function save(agent: Agent | undefined, draft: Draft) {
    const done = await action.run(async () => {
      const fields = agentOf(draft);
      if (!agent) return invoke('workspaceAgents.create', { workspaceId: workspace.id, agent: fields });
      return invoke('workspaceAgents.update', {
        workspaceId: workspace.id,
        agentId: agent.id,
        changes: { ...fields, expectedVersion: agent.version },
      });
    });
    if (!done) return;
    setEditing(undefined);
    // The confirmation shows once the list already shows the change.
    await Promise.all([agents.reload(), secrets.reload()]);
    setSaved(agent ? `Agent "${done.name}" saved.` : `Agent "${done.name}" created.`);
  }

  async function remove(agent: Agent) {
    const done = await action.run(() =>
      invoke('workspaceAgents.delete', { workspaceId: workspace.id, agentId: agent.id }),
    );
    setDeleting(undefined);
    if (!done) return;
    await Promise.all([agents.reload(), secrets.reload()]);
    setSaved(`Agent "${agent.name}" deleted.`);
  }

  const items = agents.items;
  return (
    <section aria-label={`Agents of ${workspace.name}`}>
      <div className="screen-head">
        <Heading level={4}>Workspace agents</Heading>
        {owner ? (
          <Button
            isDisabled={editing !== undefined}
            onPress={() => {
              setSaved(undefined);
              setEditing({});
            }}
          >
            New agent
          </Button>
        ) : null}
      </div>
      <p className="hint">
        {owner
          ? "Every member's linked gateway runs these agents, with the secrets you grant them. Members see and use them; only owners change them."
          : `These agents appear in this computer's Agents and Chat once it is linked to ${workspace.name} (Overview, "Link this computer"). Only the workspace's owners change them.`}
      </p>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {owner && editing ? (
        <AgentForm
          key={editing.agent?.id ?? 'new'}
          agent={editing.agent}
          secrets={secretChoices}
          noSecrets={
            secrets.items
              ? "The vault has no secrets yet: add the provider's API key under Vault, then grant it here or there."
              : (secrets.error ?? "Loading the vault's secrets…")
          }
          busy={action.busy}
          onSave={(draft) => void save(editing.agent, draft)}
          onCancel={() => setEditing(undefined)}
        />
      ) : null}
      {agents.error ? <ErrorNotice onRetry={() => void agents.reload()}>{agents.error}</ErrorNotice> : null}
      {agents.loading && !agents.items ? <Loading>Loading the workspace's agents…</Loading> : null}
      {items && items.length === 0 ? (
        <Empty title="No workspace agents yet.">
          <p>
            {owner
              ? 'Create one with "New agent": its provider, model and instructions, and the secrets it may use.'
              : 'An owner of the workspace creates them.'}
          </p>
        </Empty>
      ) : null}
      {items && items.length > 0 ? (
        <ul className="cards" aria-label={`Agents of ${workspace.name}`}>
          {items.map((agent) => (
            <li key={agent.id} className="card card-wide" aria-label={`Agent ${agent.name}`}>
              <div>
                <p className="card-title">{agent.name}</p>
                <p className="card-detail">
                  {PROVIDERS[agent.provider]} · {agent.model}
                </p>
                {agent.description ? <p className="card-detail">{agent.description}</p> : null}
                <p className="card-detail">{paramsText(agent.params)}</p>
                {agent.tools.length > 0 ? (
                  <p className="card-detail">Tools: {agent.tools.join(', ')}</p>
                ) : null}
                <p className="card-detail">
                  Secrets granted:{' '}
                  {agent.secretIds.length === 0
                    ? 'none'
                    : agent.secretIds.map((id) => secretName.get(id) ?? 'a secret not listed').join(', ')}
                </p>
              </div>
              {owner ? (
                <div className="card-actions">
                  <Button
                    aria-label={`Edit ${agent.name}`}
                    isDisabled={editing !== undefined}
                    onPress={() => {
                      setSaved(undefined);
                      setEditing({ agent });
                    }}
                  >
                    Edit
                  </Button>
                  <Button aria-label={`Delete ${agent.name}`} onPress={() => setDeleting(agent)}>
                    Delete
                  </Button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {agents.hasMore ? (
        <Button isDisabled={agents.loading} onPress={() => void agents.loadMore()}>
          Load more agents
        </Button>
      ) : null}
      <ConfirmDialog
        isOpen={deleting !== undefined}
        onDismiss={() => setDeleting(undefined)}
        title={`Delete ${deleting?.name}?`}
        confirmLabel="Delete agent"
        onConfirm={() => deleting && void remove(deleting)}
      >
        <p>
          It leaves every member's gateway and loses its secret grants. Conversations already synced stay in
          Transcripts.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function AgentForm(props: {
  agent: Agent | undefined;
  secrets: { id: string; name: string }[];
  /** What the secrets' choice says when there is none to choose (none yet, loading, or why not). */
  noSecrets: string;
  busy: boolean;
  onSave: (draft: Draft) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState(() => draftOf(props.agent));
  const set = (patch: Partial<Draft>) => setDraft((current) => ({ ...current, ...patch }));
  const decimal = (text: string) => text.replace(/[^0-9.]/g, '');
  return (
    <Form
      className="form"
      aria-label={props.agent ? `Edit workspace agent ${props.agent.name}` : 'New workspace agent'}
      onSubmit={(event) => {
        event.preventDefault();
        props.onSave(draft);
      }}
    >
      <TextField isRequired value={draft.name} onChange={(name) => set({ name })} maxLength={100} autoFocus>
        <Label>Name</Label>
        <Input />
      </TextField>
      <TextField value={draft.description} onChange={(description) => set({ description })} maxLength={1000}>
        <Label>Description (optional)</Label>
        <Input />
      </TextField>
      <ChoiceSelect
        label="Provider"
        isRequired
        choices={Object.entries(PROVIDERS).map(([id, label]) => ({ id, label }))}
        value={draft.provider}
        onChange={(id) => {
          if (isProvider(id)) set({ provider: id });
        }}
      />
      <TextField isRequired value={draft.model} onChange={(model) => set({ model })} maxLength={200}>
        <Label>Model</Label>
        <Input placeholder="for example gpt-4o-mini" />
      </TextField>
      <TextField value={draft.systemPrompt} onChange={(systemPrompt) => set({ systemPrompt })}>
        <Label>Instructions (system prompt, optional)</Label>
        <TextArea rows={3} />
      </TextField>
      <div className="form-row">
        <TextField
          value={draft.temperature}
          onChange={(text) => set({ temperature: decimal(text) })}
          inputMode="decimal"
        >
          <Label>Temperature (0 to 2, optional)</Label>
          <Input />
        </TextField>
        <TextField
          value={draft.maxTokens}
          onChange={(text) => set({ maxTokens: text.replace(/[^0-9]/g, '') })}
          inputMode="numeric"
        >
          <Label>Longest reply in tokens (optional)</Label>
          <Input />
        </TextField>
        <TextField value={draft.topP} onChange={(text) => set({ topP: decimal(text) })} inputMode="decimal">
          <Label>Top P (0 to 1, optional)</Label>
          <Input />
        </TextField>
      </div>
      <TextField value={draft.tools} onChange={(tools) => set({ tools })}>
        <Label>Tools (optional)</Label>
        <Input placeholder="web-search, fs_read" />
        <Text slot="description">Tool names, separated by commas: lower-case letters, digits, - and _.</Text>
      </TextField>
      <GrantChoices
        label="Secrets this agent may use"
        choices={props.secrets}
        value={draft.secretIds}
        onChange={(secretIds) => set({ secretIds })}
        empty={props.noSecrets}
        description={`The provider's API key comes from a granted secret: the only one, or the one named ${KEY_NAMES[draft.provider]}.`}
      />
      <div className="form-actions">
        <Button type="submit" isDisabled={props.busy}>
          {props.agent ? 'Save agent' : 'Create agent'}
        </Button>
        <Button onPress={props.onCancel}>Cancel</Button>
      </div>
    </Form>
  );
}
