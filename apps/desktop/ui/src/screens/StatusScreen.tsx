import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { ErrorNotice, Loading } from '../components/notices';
import { UpdatePanel } from '../components/UpdatePanel';
import { useAction } from '../components/use-command';
import type { GatewayView } from '../components/use-gateway';
import { invoke } from '../ipc/client';

const STATE_WORDS = {
  running: 'Running',
  starting: 'Starting…',
  stopped: 'Not running',
  refusing: 'Refuses this desktop',
} as const;

function duration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Is the local gateway up, which one, and is it linked to a cloud; start it when nothing answers. */
export function StatusScreen({
  gateway,
  onGo,
}: {
  gateway: GatewayView;
  /** Opens another section (the first steps below point to them). */
  onGo: (section: 'providers' | 'agents' | 'chat') => void;
}) {
  const { status, error, refresh } = gateway;
  const start = useAction();
  const [started, setStarted] = useState<DesktopCommandOutput<'gateway.start'>>();

  if (!status && error) return <ErrorNotice onRetry={() => void refresh()}>{error}</ErrorNotice>;
  if (!status) return <Loading>Asking the desktop host about the gateway…</Loading>;

  const waiting = status.state === 'starting' || (started && status.state !== 'running');
  return (
    <section aria-labelledby="status-title" className="screen">
      <Heading level={2} id="status-title">
        Gateway
      </Heading>
      {error ? <ErrorNotice onRetry={() => void refresh()}>{error}</ErrorNotice> : null}
      <dl className="facts">
        <dt>State</dt>
        <dd data-state={status.state}>{STATE_WORDS[status.state]}</dd>
        <dt>Address</dt>
        <dd>{status.url}</dd>
        <dt>Port</dt>
        <dd>{status.port}</dd>
        <dt>Version</dt>
        <dd>{status.version ?? 'unknown'}</dd>
        <dt>Linked to a cloud</dt>
        <dd>
          {status.link && status.link.state !== 'not linked'
            ? `Yes — ${status.link.state}${status.link.cloudUrl ? ` (${status.link.cloudUrl})` : ''}`
            : 'No, it works on its own'}
        </dd>
        {status.uptimeMs !== undefined ? (
          <>
            <dt>Up for</dt>
            <dd>{duration(status.uptimeMs)}</dd>
          </>
        ) : null}
        {status.agents !== undefined ? (
          <>
            <dt>Agents, providers, conversations</dt>
            <dd>
              {status.agents}, {status.providers ?? 0}, {status.sessions ?? 0}
            </dd>
          </>
        ) : null}
      </dl>
      {status.state === 'running' && (status.providers === 0 || status.agents === 0) ? (
        <div className="notice">
          <p className="notice-title">First steps</p>
          <ol className="steps">
            <li>
              Add a model provider and its API key.{' '}
              <Button onPress={() => onGo('providers')}>Go to Providers</Button>
            </li>
            <li>
              Create an agent that uses it. <Button onPress={() => onGo('agents')}>Go to Agents</Button>
            </li>
            <li>
              Chat with it. <Button onPress={() => onGo('chat')}>Go to Chat</Button>
            </li>
          </ol>
        </div>
      ) : null}
      {status.state === 'running' && started ? (
        <p role="status" className="notice notice-ok">
          The gateway is up.
        </p>
      ) : null}
      {status.state === 'stopped' || status.state === 'starting' ? (
        <div className="notice notice-warn">
          <p>
            {waiting
              ? `Starting the gateway… waiting for it to answer at ${status.url}.`
              : `No gateway answers at ${status.url}. Agents and chat need it.`}
          </p>
          {status.reason && !waiting ? <p>{status.reason}</p> : null}
          {started?.logFile ? <p>Its output goes to {started.logFile}.</p> : null}
          <Button
            isDisabled={start.busy || Boolean(waiting)}
            onPress={() =>
              void start.run(async () => {
                setStarted(await invoke('gateway.start', {}));
                await refresh();
              })
            }
          >
            {waiting ? 'Starting the gateway…' : 'Start the gateway'}
          </Button>
        </div>
      ) : null}
      {status.state === 'refusing' ? (
        <ErrorNotice onRetry={() => void refresh()}>
          {status.reason ??
            'Something answers on the gateway port but refuses this desktop. Check that openclaw.json holds the token of the gateway that runs.'}
        </ErrorNotice>
      ) : null}
      {start.error ? <ErrorNotice>{start.error}</ErrorNotice> : null}
      <UpdatePanel />
    </section>
  );
}
