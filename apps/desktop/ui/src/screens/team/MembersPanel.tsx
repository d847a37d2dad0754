import type { PanelProps } from './panel';

/** The workspace's Members panel (being built). */
export function MembersPanel(_props: PanelProps) {
  return <p>Members: being built.</p>;
}
