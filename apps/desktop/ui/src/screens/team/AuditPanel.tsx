import type { PanelProps } from './panel';

/** The workspace's Audit panel (being built). */
export function AuditPanel(_props: PanelProps) {
  return <p>Audit: being built.</p>;
}
