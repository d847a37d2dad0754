import type { PanelProps } from './panel';

/** The workspace's Gateways panel (being built). */
export function GatewaysPanel(_props: PanelProps) {
  return <p>Gateways: being built.</p>;
}
