import { z } from 'zod';
import { Id, Timestamp } from './ids.js';

/**
 * Linking a person's own gateway to a workspace (DESIGN.md §7): a one-time
 * enrollment code, the enroll call that trades it and a public key for a
 * gateway id, and the workspace's list of gateways.
 */

/** How long an enrollment code stays usable. */
export const GATEWAY_ENROLLMENT_TTL_SECONDS = 10 * 60;

export const GatewayName = z.string().trim().min(1).max(100);
export type GatewayName = z.infer<typeof GatewayName>;

export const CreateGatewayEnrollmentRequest = z.strictObject({ name: GatewayName.optional() });
export type CreateGatewayEnrollmentRequest = z.infer<typeof CreateGatewayEnrollmentRequest>;

/** The code is shown once, for the person to give their gateway; only its hash is stored. */
export const GatewayEnrollment = z.object({ code: z.string(), expiresAt: Timestamp });
export type GatewayEnrollment = z.infer<typeof GatewayEnrollment>;

/**
 * A raw 32-byte Ed25519 public key in unpadded base64url (43 characters). The
 * cloud also checks that it is a point of the curve.
 */
export const GatewayPublicKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/, 'Must be a raw 32-byte Ed25519 public key in base64url');
export type GatewayPublicKey = z.infer<typeof GatewayPublicKey>;

export const EnrollGatewayRequest = z.strictObject({
  code: z.string().min(1).max(256),
  publicKey: GatewayPublicKey,
  name: GatewayName.optional(),
});
export type EnrollGatewayRequest = z.infer<typeof EnrollGatewayRequest>;

export const EnrollGatewayResponse = z.object({ gatewayId: Id, workspaceId: Id });
export type EnrollGatewayResponse = z.infer<typeof EnrollGatewayResponse>;

/** A gateway as listed. Revoked ones stay listed, with `revokedAt` set. */
export const Gateway = z.object({
  id: Id,
  name: z.string().nullable(),
  /** The person who enrolled it (its owner). */
  userId: Id,
  createdAt: Timestamp,
  lastSeenAt: Timestamp.nullable(),
  online: z.boolean(),
  revokedAt: Timestamp.nullable(),
});
export type Gateway = z.infer<typeof Gateway>;

export const GatewayParams = z.object({ wid: Id, gid: Id });
export type GatewayParams = z.infer<typeof GatewayParams>;
