import type { DesktopProvider, DesktopProviderApi } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Checkbox, CheckboxGroup, Form, Input, Label, Text, TextField } from 'react-aria-components';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { invoke } from '../ipc/client';

/** The kinds of provider the gateway speaks to, with their usual address. */
export const APIS: { id: DesktopProviderApi; label: string; baseUrl: string }[] = [
  { id: 'openai-completions', label: 'OpenAI-compatible', baseUrl: 'https://api.openai.com/v1' },
  { id: 'anthropic-messages', label: 'Anthropic', baseUrl: 'https://api.anthropic.com' },
];

export type AgentChoice = { id: string; name: string };

function AgentScope(props: { agents: AgentChoice[]; value: string[]; onChange: (value: string[]) => void }) {
  if (props.agents.length === 0)
    return <p className="hint">No agents yet: an agent you create can be given this key then.</p>;
  return (
    <CheckboxGroup
      value={props.value}
      onChange={props.onChange}
      className="react-aria-CheckboxGroup checkbox-group"
    >
      <Label>Agents that may use this key</Label>
      {props.agents.map((agent) => (
        <Checkbox key={agent.id} value={agent.id}>
          {agent.name}
        </Checkbox>
      ))}
    </CheckboxGroup>
  );
}

/** A new provider: its name, kind, address, key (write-only) and which agents may use the key. */
export function AddProviderForm(props: {
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
      <ChoiceSelect
        label="Kind"
        choices={APIS}
        value={api}
        onChange={(id) => {
          const next = APIS.find((choice) => choice.id === id);
          if (!next) return;
          if (APIS.some((choice) => choice.baseUrl === baseUrl)) setBaseUrl(next.baseUrl);
          setApi(next.id);
        }}
      />
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

/** One provider: its key shown only as saved or not; replace it, remove it, scope it, remove the provider. */
export function ProviderCard(props: {
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
