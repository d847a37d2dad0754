import { useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { ErrorNotice, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';

const size = (bytes: number) =>
  bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(bytes < 10_240 ? 1 : 0)} KB`;

/** Everything the cloud holds about the account, saved by the desktop host as a private JSON file. */
export function ExportSection() {
  const [saved, setSaved] = useState<{ path: string; bytes: number }>();
  const action = useAction();
  return (
    <section aria-labelledby="account-export" className="form">
      <Heading level={3} id="account-export">
        Export my data
      </Heading>
      <p className="hint">
        Your profile, sessions, workspaces, gateways, your synced conversations and your audit entries, as one
        JSON file on this computer.
      </p>
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {saved ? (
        <Saved>
          Saved as <code>{saved.path}</code> ({size(saved.bytes)}). Only your user on this computer can read
          it.
        </Saved>
      ) : null}
      <div className="form-actions">
        <Button
          isDisabled={action.busy}
          onPress={() => {
            setSaved(undefined);
            void action.run(async () => setSaved(await invoke('account.export', {})));
          }}
        >
          {action.busy ? 'Exporting…' : 'Export my data'}
        </Button>
      </div>
    </section>
  );
}
