import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';

/** A workspace as the signed-in person sees it: its id, name and their role in it. */
export type WorkspaceView = DesktopCommandOutput<'workspaces.list'>['items'][number];

/** What every panel of the Team screen gets: the chosen workspace, and who is looking. */
export interface PanelProps {
  workspace: WorkspaceView;
  /** The signed-in person's cloud user id. */
  userId: string;
  /**
   * The workspace changed in a way the switcher shows (renamed, deleted, left): list them again.
   * `gone`: this person removed it themselves, and what to say instead of "no longer a member".
   */
  onWorkspacesChanged: (gone?: { id: string; message: string }) => void;
}
