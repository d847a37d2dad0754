import type { DesktopAgentSummary } from '@multiclaw/protocol/desktop';
import { useEffect, useState } from 'react';
import { Button, Checkbox, Form, Heading, Input, Label, TextArea, TextField } from 'react-aria-components';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Empty, ErrorNotice, Loading, Saved } from '../components/notices';
import { useAction, useCommand } from '../components/use-command';
import { invoke } from '../ipc/client';

interface Draft {
  name: string;
  provider: string;
  model: string;
  systemPrompt: string;
  maxTokens: string;
  /** On create: add the new agent to the provider's key scope. */
  grantKey: boolean;
}
const EMPTY: Draft = { name: '', provider: '', model: '', systemPrompt: '', maxTokens: '', grantKey: true };

/** The workspace a listed agent comes from, when it is a workspace agent (read-only here); undefined for a local one. */
function workspaceOf(agent: DesktopAgentSummary): { workspaceId?: string } | undefined {
  if (agent.editable) return undefined;
  return agent.workspaceId ? { workspaceId: agent.workspaceId } : {};
}

/** Names of the workspaces the listed workspace agents come from, when the cloud account can say (else none). */
function useWorkspaceNames(agents: DesktopAgentSummary[] | undefined): Map<string, string> {
  const [names, setNames] = useState(new Map<string, string>());
  const wanted = agents?.some((agent) => workspaceOf(agent)?.workspaceId) ?? false;
  useEffect(() => {
    if (!wanted) return;
    let current = true;
    invoke('workspaces.list', {}).then(
      (answer) => current && setNames(new Map(answer.items.map((item) => [item.id, item.name]))),
      // Signed out or the cloud away: the badge goes without the workspace's name.
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [wanted]);
  return names;
}

/** Local agents, by name: create, edit, delete (the gateway owns openclaw.json). */
export function AgentsScreen({ onChanged }: { onChanged?: () => void }) {
  const agents = useCommand('agents.list', {});
  const providers = useCommand('providers.list', {});
  const [editing, setEditing] = useState<{ id?: string; draft: Draft }>();
  const [deleting, setDeleting] = useState<DesktopAgentSummary>();
  const [saved, setSaved] = useState<string>();
  const action = useAction();
  const workspaceNames = useWorkspaceNames(agents.data?.agents);

  async function startEdit(agent: DesktopAgentSummary) {
    setSaved(undefined);
    const full = await action.run(() => invoke('agents.get', { agentId: agent.id }));
    if (!full) return;
    const [provider = '', ...model] = full.agent.model.split('/');
    setEditing({
      id: agent.id,
      draft: {
        name: full.agent.name,
        provider,
        model: model.join('/'),
        systemPrompt: full.agent.systemPrompt ?? '',
        maxTokens: full.agent.maxTokens ? String(full.agent.maxTokens) : '',
        grantKey: false,
      },
    });
  }

  async function save(id: string | undefined, draft: Draft) {
    const model = `${draft.provider}/${draft.model.trim()}`;
    const maxTokens = draft.maxTokens.trim() ? Number(draft.maxTokens) : undefined;
    const done = await action.run(async () => {
      if (id === undefined) {
        const { agent } = await invoke('agents.create', {
          name: draft.name,
          model,
          ...(draft.systemPrompt.trim() ? { systemPrompt: draft.systemPrompt } : {}),
          ...(maxTokens ? { maxTokens } : {}),
        });
        const provider = providers.data?.providers.find((p) => p.id === draft.provider);
        if (draft.grantKey && provider?.hasKey && !provider.allowedAgents.includes(agent.id))
          await invoke('providers.scope', {
            id: provider.id,
            allowedAgents: [...provider.allowedAgents, agent.id],
          });
        return agent;
      }
      const { agent } = await invoke('agents.update', {
        agentId: id,
        name: draft.name,
        model,
        systemPrompt: draft.systemPrompt.trim() ? draft.systemPrompt : null,
        maxTokens: maxTokens ?? null,
      });
      return agent;
    });
    if (!done) return;
    setEditing(undefined);
    // The confirmation shows once the list already shows the change.
    await Promise.all([agents.reload(), providers.reload()]);
    setSaved(id === undefined ? `Agent "${done.name}" created.` : `Agent "${done.name}" saved.`);
    onChanged?.();
  }

  async function remove(agent: DesktopAgentSummary) {
    const done = await action.run(() => invoke('agents.delete', { agentId: agent.id }));
    setDeleting(undefined);
    if (!done) return;
    await Promise.all([agents.reload(), providers.reload()]);
    setSaved(`Agent "${agent.name}" deleted.`);
    onChanged?.();
  }

  const noProviders = providers.data && providers.data.providers.length === 0;
  return (
    <section aria-labelledby="agents-title" className="screen">
      <div className="screen-head">
        <Heading level={2} id="agents-title">
          Agents
        </Heading>
        <Button
          isDisabled={Boolean(noProviders) || editing !== undefined}
          onPress={() => {
            setSaved(undefined);
            setEditing({ draft: { ...EMPTY, provider: providers.data?.providers[0]?.id ?? '' } });
          }}
        >
          New agent
        </Button>
      </div>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {noProviders ? (
        <p className="hint">An agent talks to a model provider: add one under Providers first.</p>
      ) : null}
      {editing ? (
        <AgentForm
          key={editing.id ?? 'new'}
          id={editing.id}
          initial={editing.draft}
          providers={providers.data?.providers.map((p) => p.id) ?? []}
          busy={action.busy}
          onSave={(draft) => void save(editing.id, draft)}
          onCancel={() => setEditing(undefined)}
        />
      ) : null}
      {agents.error ? <ErrorNotice onRetry={() => void agents.reload()}>{agents.error}</ErrorNotice> : null}
      {agents.loading && !agents.data ? <Loading>Loading agents…</Loading> : null}
      {agents.data && agents.data.agents.length === 0 ? (
        <Empty title="No agents yet.">
          <p>Create one with "New agent": give it a name and pick its provider and model.</p>
        </Empty>
      ) : null}
      {agents.data && agents.data.agents.length > 0 ? (
        <ul className="cards" aria-label="Agents">
          {agents.data.agents.map((agent) => {
            const workspace = workspaceOf(agent);
            const from = workspace?.workspaceId ? workspaceNames.get(workspace.workspaceId) : undefined;
            return (
              <li key={agent.id} className="card">
                <div>
                  <p className="card-title">
                    {agent.name} {workspace ? <strong className="tag">Workspace agent</strong> : null}
                  </p>
                  <p className="card-detail">{agent.model}</p>
                  {workspace ? (
                    <p className="card-detail">
                      From {from ? `the workspace ${from}` : 'the workspace this computer is linked to'}:
                      read-only here; its owners change it under Team.
                    </p>
                  ) : null}
                </div>
                {workspace ? null : (
                  <div className="card-actions">
                    <Button aria-label={`Edit ${agent.name}`} onPress={() => void startEdit(agent)}>
                      Edit
                    </Button>
                    <Button aria-label={`Delete ${agent.name}`} onPress={() => setDeleting(agent)}>
                      Delete
                    </Button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      ) : null}
      <ConfirmDialog
        isOpen={deleting !== undefined}
        onDismiss={() => setDeleting(undefined)}
        title={`Delete ${deleting?.name}?`}
        confirmLabel="Delete agent"
        onConfirm={() => deleting && void remove(deleting)}
      >
        <p>Its conversations stay in history; its access to provider keys is withdrawn.</p>
      </ConfirmDialog>
    </section>
  );
}

function AgentForm(props: {
  id: string | undefined;
  initial: Draft;
  providers: string[];
  busy: boolean;
  onSave: (draft: Draft) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState(props.initial);
  const set = (patch: Partial<Draft>) => setDraft((current) => ({ ...current, ...patch }));
  return (
    <Form
      className="form"
      aria-label={props.id ? `Edit agent ${props.initial.name}` : 'New agent'}
      onSubmit={(event) => {
        event.preventDefault();
        props.onSave(draft);
      }}
    >
      <TextField isRequired value={draft.name} onChange={(name) => set({ name })} maxLength={100} autoFocus>
        <Label>Name</Label>
        <Input />
      </TextField>
      <ChoiceSelect
        label="Provider"
        isRequired
        choices={props.providers.map((id) => ({ id, label: id }))}
        value={draft.provider}
        onChange={(provider) => set({ provider })}
      />
      <TextField isRequired value={draft.model} onChange={(model) => set({ model })}>
        <Label>Model</Label>
        <Input placeholder="for example gpt-4o-mini" />
      </TextField>
      <TextField value={draft.systemPrompt} onChange={(systemPrompt) => set({ systemPrompt })}>
        <Label>Instructions (system prompt, optional)</Label>
        <TextArea rows={3} />
      </TextField>
      <TextField
        value={draft.maxTokens}
        onChange={(maxTokens) => set({ maxTokens: maxTokens.replace(/[^0-9]/g, '') })}
        inputMode="numeric"
      >
        <Label>Longest reply in tokens (optional)</Label>
        <Input />
      </TextField>
      {props.id === undefined ? (
        <Checkbox isSelected={draft.grantKey} onChange={(grantKey) => set({ grantKey })}>
          Let this agent use the provider's API key
        </Checkbox>
      ) : null}
      <div className="form-actions">
        <Button type="submit" isDisabled={props.busy}>
          {props.id ? 'Save agent' : 'Create agent'}
        </Button>
        <Button onPress={props.onCancel}>Cancel</Button>
      </div>
    </Form>
  );
}
