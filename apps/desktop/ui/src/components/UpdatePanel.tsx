import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { invoke } from '../ipc/client';
import { ErrorNotice, Saved } from './notices';
import { useAction } from './use-command';

/**
 * The gateway's signed updates: nothing is checked until the person presses
 * "Check for updates"; an available release is a notice with its own Install
 * button. The host verifies everything (docs/releasing.md); this only shows it.
 */
export function UpdatePanel() {
  const action = useAction();
  const [checked, setChecked] = useState<DesktopCommandOutput<'updates.check'>>();
  const [applied, setApplied] = useState<DesktopCommandOutput<'updates.apply'>>();

  const check = () =>
    void action.run(async () => {
      setApplied(undefined);
      setChecked(await invoke('updates.check', {}));
    });
  const install = () =>
    void action.run(async () => {
      setApplied(await invoke('updates.apply', {}));
      setChecked(undefined);
    });

  return (
    <section aria-labelledby="updates-title" className="form">
      <Heading level={3} id="updates-title">
        Updates
      </Heading>
      <Button isDisabled={action.busy} onPress={check}>
        {action.busy && !applied ? 'Checking…' : 'Check for updates'}
      </Button>
      {checked?.status === 'not-configured' ? (
        <p role="status" className="notice">
          Updates are off: openclaw.json names no update feed, so nothing is contacted.
        </p>
      ) : null}
      {checked?.status === 'up-to-date' ? (
        <Saved>Up to date: {checked.version} is the newest release.</Saved>
      ) : null}
      {checked?.status === 'available' ? (
        <div role="status" className="notice notice-warn">
          <p className="notice-title">
            Gateway {checked.version} is available on “{checked.channel}”.
          </p>
          <p>
            It is signed and verified before anything is installed; the current version is kept to roll back
            to.
          </p>
          <Button isDisabled={action.busy} onPress={install}>
            {action.busy ? `Installing ${checked.version}…` : `Install ${checked.version}`}
          </Button>
        </div>
      ) : null}
      {applied?.status === 'installed' ? (
        <Saved>
          Installed {applied.version} (was {applied.previous}). Restart the gateway to use it.
        </Saved>
      ) : null}
      {applied?.status === 'up-to-date' ? (
        <Saved>Up to date: {applied.version} is the newest release.</Saved>
      ) : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
    </section>
  );
}
