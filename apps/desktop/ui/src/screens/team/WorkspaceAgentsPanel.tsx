import type { PanelProps } from './panel';

/** The workspace's Agents panel (being built). */
export function WorkspaceAgentsPanel(_props: PanelProps) {
  return <p>Agents: being built.</p>;
}
