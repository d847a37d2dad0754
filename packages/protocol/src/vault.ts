import { z } from 'zod';
import { Id, Timestamp } from './ids.js';

/**
 * Secret names: like environment variable names, plus `.` and `-` after the
 * first character (`OPENAI_API_KEY`, `github.token`, `db-password`). A letter
 * or `_` first, then letters, digits, `_`, `.`, `-`; 1 to 128 characters.
 * Case-sensitive; unique per workspace.
 */
export const SECRET_NAME_MAX = 128;
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
/** 64 KiB, counted in UTF-8 bytes. */
export const SECRET_VALUE_MAX_BYTES = 64 * 1024;
export const SECRET_DESCRIPTION_MAX = 1000;
/** Agents one secret may be granted to. */
export const SECRET_AGENTS_MAX = 64;

export const SecretName = z
  .string()
  .max(SECRET_NAME_MAX, `Name must be at most ${SECRET_NAME_MAX} characters`)
  .regex(
    SECRET_NAME_PATTERN,
    'Name must start with a letter or _, then letters, digits, _, . or - (at most 128 characters)',
  )
  .describe('Unique per workspace: `^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`');
export type SecretName = z.infer<typeof SecretName>;

const utf8 = new TextEncoder();
/** A secret value: never echoed back except by `reveal`. Error messages never quote it. */
export const SecretValue = z
  .string()
  .min(1, 'Value must not be empty')
  .refine((value) => utf8.encode(value).byteLength <= SECRET_VALUE_MAX_BYTES, {
    message: `Value must be at most ${SECRET_VALUE_MAX_BYTES} bytes (64 KiB) in UTF-8`,
  })
  .describe('The secret value (at most 64 KiB of UTF-8); stored encrypted, never returned in metadata');

export const SecretDescription = z
  .string()
  .trim()
  .max(SECRET_DESCRIPTION_MAX, `Description must be at most ${SECRET_DESCRIPTION_MAX} characters`);

/** Agents of the same workspace allowed to use the secret (through their gateway). */
export const SecretAgentIds = z
  .array(Id)
  .max(SECRET_AGENTS_MAX, `At most ${SECRET_AGENTS_MAX} agents`)
  .superRefine((values, ctx) => {
    const seen = new Set<string>();
    values.forEach((value, index) => {
      if (seen.has(value)) ctx.addIssue({ code: 'custom', message: 'Duplicate agent id', path: [index] });
      seen.add(value);
    });
  });

/** What every secret response carries: metadata only, never the value. */
export const Secret = z.object({
  id: Id,
  name: z.string(),
  description: z.string().nullable(),
  /** Starts at 1; every value change adds one. */
  version: z.number().int(),
  agentIds: z.array(Id),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Secret = z.infer<typeof Secret>;

export const CreateSecretRequest = z.strictObject({
  name: SecretName,
  value: SecretValue,
  description: SecretDescription.nullable().optional(),
  agentIds: SecretAgentIds.default([]),
});
export type CreateSecretRequest = z.infer<typeof CreateSecretRequest>;

/**
 * A new value (a new version), and/or a new description, and/or the full new
 * list of granted agents. The name cannot change.
 */
export const UpdateSecretRequest = z
  .strictObject({
    value: SecretValue.optional(),
    description: SecretDescription.nullable().optional(),
    agentIds: SecretAgentIds.optional(),
  })
  .refine((update) => Object.values(update).some((value) => value !== undefined), {
    message: 'Nothing to update: give a value, a description or agentIds',
  });
export type UpdateSecretRequest = z.infer<typeof UpdateSecretRequest>;

export const RevealSecretResponse = z.object({ value: z.string() });
export type RevealSecretResponse = z.infer<typeof RevealSecretResponse>;

export const SecretParams = z.object({ wid: Id, sid: Id });
export type SecretParams = z.infer<typeof SecretParams>;
