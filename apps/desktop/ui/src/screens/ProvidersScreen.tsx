import { useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { Empty, ErrorNotice, Loading, Saved } from '../components/notices';
import { useAction, useCommand } from '../components/use-command';
import { invoke } from '../ipc/client';
import { AddProviderForm, ProviderCard } from './provider-forms';

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

  /** The confirmation shows once the list already shows the change. */
  async function changed(message: string) {
    setSaved(undefined);
    await providers.reload();
    setSaved(message);
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
