import type { PanelProps } from './panel';

/** The workspace's Vault panel (being built). */
export function VaultPanel(_props: PanelProps) {
  return <p>Vault: being built.</p>;
}
