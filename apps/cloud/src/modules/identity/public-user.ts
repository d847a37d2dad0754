/** The user as the API shows it (`User` in packages/protocol): one mapping for every route that returns one. */
export type PublicUser = { id: string; email: string; name: string | null; emailVerified: boolean };

/** The columns `toPublicUser` needs, for a Prisma `select`. */
export const publicUserSelect = { id: true, email: true, name: true, emailVerifiedAt: true } as const;

export function toPublicUser(row: {
  id: string;
  email: string;
  name: string | null;
  emailVerifiedAt: Date | null;
}): PublicUser {
  return { id: row.id, email: row.email, name: row.name, emailVerified: row.emailVerifiedAt !== null };
}
