import { z } from 'zod';
import { Email, normaliseEmail } from './email.js';
import { Id, Timestamp } from './ids.js';

/**
 * Identity API shapes (`/v1/auth/*`, `/v1/me`). A new address (register,
 * invitation) must pass the strict `Email` check; sign-in only normalises
 * what was typed (trim, NFC, lower case), so any stored account can sign in.
 */
export const EmailInput = Email;
export type EmailInput = z.infer<typeof EmailInput>;

export const SignInEmail = z.string().max(1024).transform(normaliseEmail);
export type SignInEmail = z.infer<typeof SignInEmail>;

/** Length only; the server applies the breached-password list and the rest of the policy. */
export const PasswordInput = z.string().min(1).max(1024);
export type PasswordInput = z.infer<typeof PasswordInput>;

export const ClientName = z.string().trim().min(1).max(100);
export type ClientName = z.infer<typeof ClientName>;

export const User = z.object({
  id: Id,
  email: z.string(),
  name: z.string().nullable(),
  /** Whether the person proved they receive mail at `email`; unverified accounts work, but never get SSO linked. */
  emailVerified: z.boolean(),
});
export type User = z.infer<typeof User>;

export const RegisterRequest = z.object({
  email: EmailInput,
  password: PasswordInput,
  name: z.string().trim().min(1).max(100).optional(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

export const RegisterResponse = z.object({ user: User });
export type RegisterResponse = z.infer<typeof RegisterResponse>;

export const LoginRequest = z.object({
  email: SignInEmail,
  password: PasswordInput,
  clientName: ClientName.optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const TokenResponse = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  /** Seconds until the access token expires. */
  expiresIn: z.number().int().positive(),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

export const LoginResponse = TokenResponse.extend({ user: User });
export type LoginResponse = z.infer<typeof LoginResponse>;

export const RefreshRequest = z.object({ refreshToken: z.string().min(1).max(512) });
export type RefreshRequest = z.infer<typeof RefreshRequest>;

export const ChangePasswordRequest = z.object({ currentPassword: PasswordInput, newPassword: PasswordInput });
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;

export const SessionInfo = z.object({
  id: Id,
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  clientName: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  current: z.boolean(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const MeResponse = z.object({ user: User });
export type MeResponse = z.infer<typeof MeResponse>;

/** `password` is required for accounts that have one; single-sign-on accounts re-authenticate by a recent sign-in. */
export const DeleteAccountRequest = z.object({ password: PasswordInput.optional() });
export type DeleteAccountRequest = z.infer<typeof DeleteAccountRequest>;

/** A single-use code from a mail (`Code: …`): 256 bits, base64url. */
export const EmailedToken = z.string().trim().min(1).max(512);

export const VerifyEmailRequest = z.object({ token: EmailedToken });
export type VerifyEmailRequest = z.infer<typeof VerifyEmailRequest>;

export const VerifyEmailResponse = z.object({ user: User });
export type VerifyEmailResponse = z.infer<typeof VerifyEmailResponse>;

export const ForgotPasswordRequest = z.object({ email: SignInEmail });
export type ForgotPasswordRequest = z.infer<typeof ForgotPasswordRequest>;

export const ResetPasswordRequest = z.object({ token: EmailedToken, password: PasswordInput });
export type ResetPasswordRequest = z.infer<typeof ResetPasswordRequest>;

/** Everything the cloud holds about the user (GET /v1/me/export). */
export const AccountExport = z.object({
  exportedAt: Timestamp,
  user: User.extend({ createdAt: Timestamp, emailVerifiedAt: Timestamp.nullable() }),
  externalIdentities: z.array(z.record(z.string(), z.unknown())),
  sessions: z.array(z.record(z.string(), z.unknown())),
  memberships: z.array(z.record(z.string(), z.unknown())),
  gateways: z.array(z.record(z.string(), z.unknown())),
  conversations: z.array(z.record(z.string(), z.unknown())),
  auditEvents: z.array(z.record(z.string(), z.unknown())),
});
export type AccountExport = z.infer<typeof AccountExport>;
