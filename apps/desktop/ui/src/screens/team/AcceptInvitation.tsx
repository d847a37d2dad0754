/** Accepting an invitation with its token or link (being built). */
export function AcceptInvitation(_props: { onAccepted: (workspaceId: string) => Promise<void> }) {
  return null;
}
