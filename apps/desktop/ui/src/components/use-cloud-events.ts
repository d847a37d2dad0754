import type { DesktopEvent } from '@multiclaw/protocol/desktop';
import { useEffect, useRef } from 'react';
import { onEvent } from '../ipc/events';

/** One real-time event of the cloud: its workspace, kind and the ids it concerns (never content). */
export type CloudEvent = Extract<DesktopEvent, { type: 'cloud.event' }>['payload']['event'];
export type CloudEventKind = CloudEvent['kind'];

/**
 * Calls `handler` for each real-time event of the cloud (forwarded by the
 * host as `cloud.event`) about `workspaceId` whose kind is in `kinds`. Events
 * carry ids only: a screen reloads what it shows when one arrives.
 */
export function useCloudEvents(
  workspaceId: string | undefined,
  kinds: readonly CloudEventKind[],
  handler: (event: CloudEvent) => void,
): void {
  const latest = useRef(handler);
  latest.current = handler;
  const kindsKey = kinds.join(',');
  useEffect(() => {
    if (!workspaceId) return;
    const wanted = new Set(kindsKey.split(','));
    return onEvent((event) => {
      if (event.type !== 'cloud.event') return;
      const cloud = event.payload.event;
      if (cloud.workspaceId === workspaceId && wanted.has(cloud.kind)) latest.current(cloud);
    });
  }, [workspaceId, kindsKey]);
}
