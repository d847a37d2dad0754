/**
 * The permission matrix, as data: every workspace action and the roles that
 * may perform it. One hook (access.ts) enforces it before every workspace
 * route; anything not listed here is denied. `docs/permissions.md` is rendered
 * from this table (scripts/render-permissions-doc.ts), so the doc cannot drift.
 */
export const ROLES = ['owner', 'member'] as const;
export type Role = (typeof ROLES)[number];

type Rule = { roles: readonly Role[]; description: string };

export const PERMISSIONS = {
  'workspace.read': { roles: ['owner', 'member'], description: 'Read the workspace' },
  'workspace.update': { roles: ['owner'], description: 'Rename the workspace' },
  'workspace.delete': { roles: ['owner'], description: 'Delete the workspace and everything in it' },
  'members.list': { roles: ['owner'], description: 'List members and their roles' },
  'members.update': { roles: ['owner'], description: "Change a member's role, transfer ownership" },
  'members.remove': { roles: ['owner'], description: 'Remove another member' },
  'members.leave': { roles: ['owner', 'member'], description: 'Leave the workspace (remove oneself)' },
  'invitations.create': { roles: ['owner'], description: 'Invite someone by email' },
  'invitations.list': { roles: ['owner'], description: 'List pending invitations' },
  'invitations.revoke': { roles: ['owner'], description: 'Revoke an invitation' },
  'agents.list': { roles: ['owner', 'member'], description: 'List agents' },
  'agents.read': { roles: ['owner', 'member'], description: 'Read an agent' },
  'agents.create': { roles: ['owner'], description: 'Create an agent' },
  'agents.update': { roles: ['owner'], description: 'Update an agent' },
  'agents.delete': { roles: ['owner'], description: 'Delete an agent' },
  'secrets.list': {
    roles: ['owner', 'member'],
    description: 'List secret names and metadata (never values)',
  },
  'secrets.create': { roles: ['owner'], description: 'Create a secret' },
  'secrets.update': {
    roles: ['owner'],
    description: "Change a secret's value, description or granted agents",
  },
  'secrets.delete': { roles: ['owner'], description: 'Delete a secret' },
  'secrets.reveal': { roles: ['owner'], description: "Reveal a secret's value (audited)" },
  'gateways.enroll': {
    roles: ['owner', 'member'],
    description: "Create a one-time code to enroll (link) one's own gateway",
  },
  'gateways.list_own': { roles: ['owner', 'member'], description: 'List the gateways one enrolled' },
  'gateways.list_any': { roles: ['owner'], description: "List everyone's gateways" },
  'gateways.revoke_own': { roles: ['owner', 'member'], description: 'Revoke a gateway one enrolled' },
  'gateways.revoke_any': { roles: ['owner'], description: "Revoke anyone's gateway" },
  'transcripts.read_own': {
    roles: ['owner', 'member'],
    description: "List and read the conversations one synced from one's own gateway",
  },
  'transcripts.read_any': { roles: ['owner'], description: "List and read everyone's synced conversations" },
  'transcripts.delete_own': { roles: ['owner', 'member'], description: 'Delete a conversation one synced' },
  'transcripts.delete_any': { roles: ['owner'], description: "Delete anyone's synced conversation" },
  'audit.read': { roles: ['owner'], description: 'Read the audit log' },
} as const satisfies Record<string, Rule>;

export type Action = keyof typeof PERMISSIONS;

export function isAction(value: string): value is Action {
  return Object.hasOwn(PERMISSIONS, value);
}

/** Deny by default: only a listed role of a listed action is allowed. */
export function allows(role: Role, action: Action): boolean {
  const rule: Rule | undefined = PERMISSIONS[action];
  return rule?.roles.includes(role);
}
