import type { PanelProps } from './panel';

/** The workspace's Transcripts panel (being built). */
export function TranscriptsPanel(_props: PanelProps) {
  return <p>Transcripts: being built.</p>;
}
