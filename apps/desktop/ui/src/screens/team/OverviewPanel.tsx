import { useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { ErrorNotice, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import type { PanelProps } from './panel';

/** The workspace at a glance: link this computer to it in one click. */
export function OverviewPanel({ workspace }: PanelProps) {
  const [saved, setSaved] = useState<string>();
  const action = useAction();
  return (
    <section aria-label={`${workspace.name} overview`}>
      <Heading level={4}>{workspace.name}</Heading>
      <p>You are {workspace.role === 'owner' ? 'its owner' : 'a member'}.</p>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      <Button
        aria-label={`Link this computer to ${workspace.name}`}
        isDisabled={action.busy}
        onPress={() =>
          void action.run(async () => {
            await invoke('gateways.linkThisComputer', { workspaceId: workspace.id });
            setSaved(
              `This computer's gateway is linked to ${workspace.name}: its agents appear here, and conversations with them sync.`,
            );
          })
        }
      >
        Link this computer
      </Button>
    </section>
  );
}
