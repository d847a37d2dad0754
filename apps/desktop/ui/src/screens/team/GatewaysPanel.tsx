import { useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Empty, ErrorNotice, Loading, Saved } from '../../components/notices';
import { useCloudEvents } from '../../components/use-cloud-events';
import { useAction } from '../../components/use-command';
import { useGateway } from '../../components/use-gateway';
import { invoke } from '../../ipc/client';
import type { PanelProps } from './panel';
import { usePagedList, usePeople, when } from './team-lists';

/**
 * The workspace's gateways: a member sees their own, an owner everyone's
 * (the cloud decides). Online state follows the cloud's real-time events.
 * Revoke is the cloud's (own, or any for an owner); "Unlink this computer"
 * is the local gateway's own `unlink`, offered on the gateway this computer
 * runs.
 */
export function GatewaysPanel({ workspace, userId }: PanelProps) {
  const owner = workspace.role === 'owner';
  const gateways = usePagedList('gateways.list', { workspaceId: workspace.id, limit: 50 });
  const local = useGateway();
  const people = usePeople(workspace, userId);
  const [saved, setSaved] = useState<string>();
  const [revoking, setRevoking] = useState<{ id: string; name: string }>();
  const [unlinking, setUnlinking] = useState(false);
  const action = useAction();
  useCloudEvents(workspace.id, ['gateway.online', 'gateway.offline'], () => {
    void gateways.refresh();
    void local.refresh();
  });

  const link = local.status?.link;
  const thisComputer = link?.workspaceId === workspace.id ? link.gatewayId : undefined;
  const nameOf = (gateway: { id: string; name: string | null }) =>
    gateway.name || `Gateway ${gateway.id.slice(0, 8)}`;

  const revoke = (target: { id: string; name: string }) =>
    void action.run(async () => {
      setRevoking(undefined);
      setSaved(undefined);
      await invoke('gateways.revoke', { workspaceId: workspace.id, gatewayId: target.id });
      await gateways.refresh();
      setSaved(`${target.name} is revoked: it can no longer reach ${workspace.name}.`);
    });
  const unlink = () =>
    void action.run(async () => {
      setUnlinking(false);
      setSaved(undefined);
      await invoke('gateways.unlinkThisComputer', { workspaceId: workspace.id });
      await Promise.all([gateways.refresh(), local.refresh()]);
      setSaved(
        `This computer is unlinked from ${workspace.name}: its workspace agents are gone from here, and nothing more syncs.`,
      );
    });

  return (
    <section aria-label={`Gateways of ${workspace.name}`}>
      <Heading level={4}>Gateways</Heading>
      <p className="hint">
        {owner
          ? 'Every gateway linked to this workspace, by whom. You may revoke any of them.'
          : 'The gateways you linked to this workspace. You may revoke your own.'}
      </p>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {gateways.error ? (
        <ErrorNotice onRetry={() => void gateways.reload()}>{gateways.error}</ErrorNotice>
      ) : null}
      {gateways.loading && !gateways.items ? <Loading>Loading the gateways…</Loading> : null}
      {gateways.items && gateways.items.length === 0 ? (
        <Empty title="No gateway is linked to this workspace yet.">
          <p>Link this computer from the Overview tab; its gateway then shows here.</p>
        </Empty>
      ) : null}
      {gateways.items && gateways.items.length > 0 ? (
        <ul className="cards" aria-label="Gateways">
          {gateways.items.map((gateway) => {
            const name = nameOf(gateway);
            const mine = gateway.userId === userId;
            const here = gateway.id === thisComputer && !gateway.revokedAt;
            const state = gateway.revokedAt
              ? `Revoked ${when(gateway.revokedAt)}`
              : gateway.online
                ? 'Online'
                : `Offline${gateway.lastSeenAt ? `, last seen ${when(gateway.lastSeenAt)}` : ', never connected'}`;
            return (
              <li key={gateway.id} className="card" aria-label={name}>
                <div>
                  <p className="card-title">
                    {name}
                    {here ? ' (this computer)' : ''}
                  </p>
                  <p className="card-detail">
                    {state}
                    {owner ? ` · Linked by ${people.nameOf(gateway.userId)}` : ''} · Linked{' '}
                    {when(gateway.createdAt)}
                  </p>
                </div>
                <div className="card-actions">
                  {here ? (
                    <Button isDisabled={action.busy} onPress={() => setUnlinking(true)}>
                      Unlink this computer
                    </Button>
                  ) : null}
                  {!gateway.revokedAt && (owner || mine) ? (
                    <Button
                      aria-label={`Revoke ${name}`}
                      isDisabled={action.busy}
                      onPress={() => setRevoking({ id: gateway.id, name })}
                    >
                      Revoke
                    </Button>
                  ) : null}
                </div>
              </li>
            );
          })}
        </ul>
      ) : null}
      {gateways.hasMore ? (
        <Button isDisabled={gateways.loading} onPress={() => void gateways.loadMore()}>
          Load more gateways
        </Button>
      ) : null}
      <ConfirmDialog
        isOpen={revoking !== undefined}
        onDismiss={() => setRevoking(undefined)}
        title={`Revoke ${revoking?.name}?`}
        confirmLabel="Revoke gateway"
        onConfirm={() => revoking && revoke(revoking)}
      >
        <p>
          Its connection to {workspace.name} closes at once and it cannot come back: its owner has to link it
          again with a new code. Conversations it synced stay in the workspace.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        isOpen={unlinking}
        onDismiss={() => setUnlinking(false)}
        title={`Unlink this computer from ${workspace.name}?`}
        confirmLabel="Unlink this computer"
        onConfirm={unlink}
      >
        <p>
          The gateway on this computer forgets its link and revokes itself in the workspace. Your local
          conversations stay on this computer; what already synced stays in the workspace.
        </p>
      </ConfirmDialog>
    </section>
  );
}
