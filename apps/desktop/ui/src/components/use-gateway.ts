import type { DesktopGatewayStatus } from '@multiclaw/protocol/desktop';
import { useCallback, useEffect, useState } from 'react';
import { invoke, messageOf } from '../ipc/client';
import { onEvent } from '../ipc/events';

export interface GatewayView {
  status: DesktopGatewayStatus | undefined;
  error: string | undefined;
  refresh: () => Promise<void>;
}

/** The gateway's state: asked once, then kept current by the host's `gateway.up`/`gateway.down` events. */
export function useGateway(): GatewayView {
  const [status, setStatus] = useState<DesktopGatewayStatus>();
  const [error, setError] = useState<string>();
  const refresh = useCallback(async () => {
    try {
      setStatus(await invoke('gateway.status', {}));
      setError(undefined);
    } catch (failure) {
      setError(messageOf(failure));
    }
  }, []);
  useEffect(() => {
    void refresh();
    const stop = onEvent((event) => {
      if (event.type === 'events.ready' || event.type === 'gateway.up' || event.type === 'gateway.down')
        setStatus(event.payload.gateway);
    });
    // The events say when it changes; a slow poll covers a host that restarted between them.
    const timer = setInterval(() => void refresh(), 15_000);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, [refresh]);
  return { status, error, refresh };
}
