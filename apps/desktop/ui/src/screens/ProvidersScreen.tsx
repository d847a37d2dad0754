import type { DesktopProvider, DesktopProviderApi } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import {
  Button,
  Checkbox,
  CheckboxGroup,
  Form,
  Heading,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Popover,
  Select,
  SelectValue,
  Text,
  TextField,
} from 'react-aria-components';
import { Empty, ErrorNotice, Loading, Saved } from '../components/notices';
import { useAction, useCommand } from '../components/use-command';
import { invoke } from '../ipc/client';

const APIS: { id: DesktopProviderApi; label: string; baseUrl: string }[] = [
  { id: 'openai-completions', label: 'OpenAI-compatible', baseUrl: 'https://api.openai.com/v1' },
  { id: 'anthropic-messages', label: 'Anthropic', baseUrl: 'https://api.anthropic.com' },
];

/**
 * Model providers and their API keys. A key is write-only here: it is typed,
 * sent once, and the field is emptied; the host never sends a key back, so
 * the screen only ever knows whether one is saved.
 */
export function ProvidersScreen({ onChanged }: { onChanged?: () => void }) {
  const providers = useCommand('providers.list', {});
  const agents = useCommand('agents.list', {});
  const [adding, setAdding] = useState(false);
  const [saved, setSaved] = useState<string>();
  const action = useAction();

  async function changed(message: string) {
    setSaved(message);
    await providers.reload();
    onChanged?.();
  }

  const agentChoices = agents.data?.agents.filter((agent) => agent.editable) ?? [];
  return (
    <section aria-labelledby="providers-title" className="screen">
      <div className="screen-head">
        <Heading level={2} id="providers-title">
          Providers
        </Heading>
        <Button
          isDisabled={adding}
          onPress={() => {
            setSaved(undefined);
            setAdding(true);
          }}
        >
          Add a provider
        </Button>
      </div>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {adding ? (
        <AddProviderForm
          agents={agentChoices.map((agent) => ({ id: agent.id, name: agent.name }))}
          busy={action.busy}
          onCancel={() => setAdding(false)}
          onAdd={async (input) => {
            const done = await action.run(() => invoke('providers.add', input));
            if (!done) return false;
            setAdding(false);
            await changed(
              `Provider "${done.provider.id}" added${done.provider.hasKey ? ' with its key' : ''}.`,
            );
            return true;
          }}
        />
      ) : null}
      {providers.error ? (
        <ErrorNotice onRetry={() => void providers.reload()}>{providers.error}</ErrorNotice>
      ) : null}
      {providers.loading && !providers.data ? <Loading>Loading providers…</Loading> : null}
      {providers.data && providers.data.providers.length === 0 && !adding ? (
        <Empty title="No model providers yet.">
          <p>
            Add one with its API key (OpenAI, Anthropic, or any OpenAI-compatible server) to start chatting.
          </p>
        </Empty>
      ) : null}
      {providers.data && providers.data.providers.length > 0 ? (
        <ul className="cards" aria-label="Providers">
          {providers.data.providers.map((provider) => (
            <ProviderCard
              key={`${provider.id}:${provider.allowedAgents.join(',')}`}
              provider={provider}
              agents={agentChoices.map((agent) => ({ id: agent.id, name: agent.name }))}
              busy={action.busy}
              run={action.run}
              onChanged={changed}
            />
          ))}
        </ul>
      ) : null}
    </section>
  );
}

type AgentChoice = { id: string; name: string };

function AgentScope(props: { agents: AgentChoice[]; value: string[]; onChange: (value: string[]) => void }) {
  if (props.agents.length === 0)
    return <p className="hint">No agents yet: an agent you create can be given this key then.</p>;
  return (
    <CheckboxGroup value={props.value} onChange={props.onChange} className="checkbox-group">
      <Label>Agents that may use this key</Label>
      {props.agents.map((agent) => (
        <Checkbox key={agent.id} value={agent.id}>
          {agent.name}
        </Checkbox>
      ))}
    </CheckboxGroup>
  );
}

function AddProviderForm(props: {
  agents: AgentChoice[];
  busy: boolean;
  onAdd: (input: {
    id: string;
    api: DesktopProviderApi;
    baseUrl: string;
    apiKey?: string;
    allowedAgents: string[];
  }) => Promise<boolean>;
  onCancel: () => void;
}) {
  const [id, setId] = useState('');
  const [api, setApi] = useState<DesktopProviderApi>('openai-completions');
  const [baseUrl, setBaseUrl] = useState(APIS[0]?.baseUrl ?? '');
  const [apiKey, setApiKey] = useState('');
  const [allowed, setAllowed] = useState<string[]>([]);
  return (
    <Form
      className="form"
      aria-label="Add a provider"
      onSubmit={(event) => {
        event.preventDefault();
        const key = apiKey.trim();
        // The key leaves this form's memory as soon as it is sent.
        setApiKey('');
        void props.onAdd({
          id: id.trim(),
          api,
          baseUrl: baseUrl.trim(),
          ...(key ? { apiKey: key } : {}),
          allowedAgents: allowed,
        });
      }}
    >
      <TextField
        isRequired
        value={id}
        onChange={(value) => setId(value.toLowerCase())}
        pattern="[a-z0-9][a-z0-9_\-]{0,63}"
        autoFocus
      >
        <Label>Provider name</Label>
        <Input placeholder="openai" />
        <Text slot="description">
          Lower-case letters, digits, "-" and "_". Agents name it in their model.
        </Text>
      </TextField>
      <Select
        selectedKey={api}
        onSelectionChange={(key) => {
          const next = APIS.find((choice) => choice.id === key);
          if (!next) return;
          if (APIS.some((choice) => choice.baseUrl === baseUrl)) setBaseUrl(next.baseUrl);
          setApi(next.id);
        }}
      >
        <Label>Kind</Label>
        <Button>
          <SelectValue />
          <span aria-hidden="true">▾</span>
        </Button>
        <Popover>
          <ListBox>
            {APIS.map((choice) => (
              <ListBoxItem key={choice.id} id={choice.id}>
                {choice.label}
              </ListBoxItem>
            ))}
          </ListBox>
        </Popover>
      </Select>
      <TextField isRequired type="url" value={baseUrl} onChange={setBaseUrl}>
        <Label>Address (base URL)</Label>
        <Input />
      </TextField>
      <TextField type="password" value={apiKey} onChange={setApiKey} autoComplete="off">
        <Label>API key</Label>
        <Input spellCheck={false} />
        <Text slot="description">
          Saved on this machine only and never shown again. Leave empty for a local server.
        </Text>
      </TextField>
      <AgentScope agents={props.agents} value={allowed} onChange={setAllowed} />
      <div className="form-actions">
        <Button type="submit" isDisabled={props.busy}>
          Save provider
        </Button>
        <Button onPress={props.onCancel}>Cancel</Button>
      </div>
    </Form>
  );
}

function ProviderCard(props: {
  provider: DesktopProvider;
  agents: AgentChoice[];
  busy: boolean;
  run: <T>(action: () => Promise<T>) => Promise<T | undefined>;
  onChanged: (message: string) => Promise<void>;
}) {
  const { provider } = props;
  const [replacing, setReplacing] = useState(false);
  const [newKey, setNewKey] = useState('');
  const [scope, setScope] = useState(provider.allowedAgents);
  const scopeChanged = scope.join('\n') !== provider.allowedAgents.join('\n');
  const kind = APIS.find((choice) => choice.id === provider.api)?.label ?? provider.api;
  return (
    <li className="card card-wide" aria-label={`Provider ${provider.id}`}>
      <div>
        <p className="card-title">{provider.id}</p>
        <p className="card-detail">
          {kind} · {provider.baseUrl}
        </p>
        <p className="card-detail">
          API key:{' '}
          {provider.hasKey ? (
            <>
              <span aria-hidden="true">•••••••• </span>saved (hidden)
            </>
          ) : (
            'none saved'
          )}
        </p>
      </div>
      {provider.hasKey ? <AgentScope agents={props.agents} value={scope} onChange={setScope} /> : null}
      {replacing ? (
        <Form
          className="form form-inline"
          aria-label={`New key for ${provider.id}`}
          onSubmit={(event) => {
            event.preventDefault();
            const apiKey = newKey.trim();
            setNewKey('');
            void props
              .run(() => invoke('providers.replaceKey', { id: provider.id, apiKey }))
              .then(async (done) => {
                if (!done) return;
                setReplacing(false);
                await props.onChanged(`The key of "${provider.id}" was replaced.`);
              });
          }}
        >
          <TextField
            isRequired
            type="password"
            value={newKey}
            onChange={setNewKey}
            autoComplete="off"
            autoFocus
          >
            <Label>New API key for {provider.id}</Label>
            <Input spellCheck={false} />
          </TextField>
          <Button type="submit" isDisabled={props.busy}>
            Save key
          </Button>
          <Button onPress={() => setReplacing(false)}>Cancel</Button>
        </Form>
      ) : null}
      <div className="card-actions">
        {provider.hasKey && scopeChanged ? (
          <Button
            isDisabled={props.busy}
            onPress={() =>
              void props
                .run(() => invoke('providers.scope', { id: provider.id, allowedAgents: scope }))
                .then((done) => done && props.onChanged(`Which agents may use "${provider.id}" was saved.`))
            }
          >
            Save agents for {provider.id}
          </Button>
        ) : null}
        {replacing ? null : (
          <Button onPress={() => setReplacing(true)}>
            {provider.hasKey ? `Replace key of ${provider.id}` : `Add a key to ${provider.id}`}
          </Button>
        )}
        {provider.hasKey ? (
          <Button
            isDisabled={props.busy}
            onPress={() =>
              void props
                .run(() => invoke('providers.clearKey', { id: provider.id }))
                .then((done) => done && props.onChanged(`The key of "${provider.id}" was removed.`))
            }
          >
            Remove key of {provider.id}
          </Button>
        ) : null}
        <Button
          className="react-aria-Button danger"
          isDisabled={props.busy}
          onPress={() =>
            void props
              .run(() => invoke('providers.remove', { id: provider.id }))
              .then((done) => done && props.onChanged(`Provider "${provider.id}" removed.`))
          }
        >
          Remove provider {provider.id}
        </Button>
      </div>
    </li>
  );
}
