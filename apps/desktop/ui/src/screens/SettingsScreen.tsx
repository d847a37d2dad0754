import type { DesktopSettings } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import {
  Button,
  Form,
  Heading,
  Input,
  Label,
  Switch,
  Text,
  TextArea,
  TextField,
} from 'react-aria-components';
import { ErrorNotice, Loading, Saved } from '../components/notices';
import { useAction, useCommand } from '../components/use-command';
import { invoke } from '../ipc/client';

/** The cloud's address, local-only mode, the gateway's allowed origins, and where crash logs are. */
export function SettingsScreen() {
  const settings = useCommand('settings.get', {});
  const crashLogs = useCommand('diagnostics.crashLogs', {});
  return (
    <section aria-labelledby="settings-title" className="screen">
      <Heading level={2} id="settings-title">
        Settings
      </Heading>
      {settings.error ? (
        <ErrorNotice onRetry={() => void settings.reload()}>{settings.error}</ErrorNotice>
      ) : null}
      {settings.data ? (
        <SettingsForm initial={settings.data} />
      ) : settings.loading ? (
        <Loading>Loading settings…</Loading>
      ) : null}
      <Heading level={3}>Crash logs</Heading>
      <p className="hint">Crash logs stay on this machine; nothing is sent anywhere.</p>
      {crashLogs.error ? (
        <ErrorNotice onRetry={() => void crashLogs.reload()}>{crashLogs.error}</ErrorNotice>
      ) : null}
      {crashLogs.data ? (
        <dl className="facts">
          <dt>Desktop</dt>
          <dd>
            <code>{crashLogs.data.desktop.dir}</code> ({crashLogs.data.desktop.files.length} logs)
          </dd>
          <dt>Gateway</dt>
          <dd>
            <code>{crashLogs.data.gateway.dir}</code> ({crashLogs.data.gateway.files.length} logs)
          </dd>
        </dl>
      ) : null}
    </section>
  );
}

function SettingsForm({ initial }: { initial: DesktopSettings }) {
  const [cloudUrl, setCloudUrl] = useState(initial.cloudUrl ?? '');
  const [localOnly, setLocalOnly] = useState(initial.localOnly);
  const [origins, setOrigins] = useState(initial.gatewayAllowedOrigins.join('\n'));
  const [saved, setSaved] = useState(false);
  const action = useAction();
  return (
    <Form
      className="form"
      aria-label="Settings"
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        void action
          .run(() =>
            invoke('settings.update', {
              cloudUrl: cloudUrl.trim() ? cloudUrl.trim() : null,
              localOnly,
              gatewayAllowedOrigins: origins
                .split('\n')
                .map((line) => line.trim())
                .filter(Boolean),
            }),
          )
          .then((done) => {
            if (!done) return;
            setCloudUrl(done.cloudUrl ?? '');
            setLocalOnly(done.localOnly);
            setOrigins(done.gatewayAllowedOrigins.join('\n'));
            setSaved(true);
          });
      }}
    >
      <TextField type="url" value={cloudUrl} onChange={setCloudUrl}>
        <Label>Cloud address</Label>
        <Input placeholder="https://cloud.example.com" />
        <Text slot="description">The MultiClaw Cloud to sign in to. Leave empty for none.</Text>
      </TextField>
      <Switch isSelected={localOnly} onChange={setLocalOnly}>
        <span className="switch-track" aria-hidden="true" />
        Local only (never contact a cloud)
      </Switch>
      <TextField value={origins} onChange={setOrigins}>
        <Label>Origins the gateway accepts (one a line)</Label>
        <TextArea rows={3} placeholder="http://127.0.0.1:1420" />
        <Text slot="description">Browser pages or paired extensions allowed to talk to the gateway.</Text>
      </TextField>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {saved ? <Saved>Settings saved.</Saved> : null}
      <div className="form-actions">
        <Button type="submit" isDisabled={action.busy}>
          Save settings
        </Button>
      </div>
    </Form>
  );
}
