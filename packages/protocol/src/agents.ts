import { z } from 'zod';
import { Id, Timestamp } from './ids.js';

/**
 * Model providers an agent may name. `openai-compatible` covers any server
 * that speaks the OpenAI chat completions API (a local model server, a proxy);
 * where it lives is the gateway's configuration, not the agent's.
 */
export const AGENT_PROVIDERS = ['openai', 'anthropic', 'openai-compatible'] as const;
export const AgentProvider = z.enum(AGENT_PROVIDERS, {
  error: `Unknown provider: use one of ${AGENT_PROVIDERS.join(', ')}`,
});
export type AgentProvider = z.infer<typeof AgentProvider>;

export const AGENT_NAME_MAX = 100;
export const AGENT_DESCRIPTION_MAX = 1000;
export const AGENT_MODEL_MAX = 200;
/** 32 KiB, counted in UTF-8 bytes. */
export const AGENT_SYSTEM_PROMPT_MAX_BYTES = 32 * 1024;
export const AGENT_TOOLS_MAX = 64;
export const AGENT_SECRETS_MAX = 64;

export const AgentName = z
  .string()
  .trim()
  .min(1, 'Name must not be empty')
  .max(AGENT_NAME_MAX, `Name must be at most ${AGENT_NAME_MAX} characters`);
export type AgentName = z.infer<typeof AgentName>;

export const AgentDescription = z
  .string()
  .trim()
  .max(AGENT_DESCRIPTION_MAX, `Description must be at most ${AGENT_DESCRIPTION_MAX} characters`);

export const AgentModel = z
  .string()
  .trim()
  .min(1, 'Model must not be empty')
  .max(AGENT_MODEL_MAX, `Model must be at most ${AGENT_MODEL_MAX} characters`);

const utf8 = new TextEncoder();
export const AgentSystemPrompt = z
  .string()
  .refine((value) => utf8.encode(value).byteLength <= AGENT_SYSTEM_PROMPT_MAX_BYTES, {
    message: `System prompt must be at most ${AGENT_SYSTEM_PROMPT_MAX_BYTES} bytes (32 KiB) in UTF-8`,
  });

/** Model parameters: only these keys, each within its range. */
export const AgentModelParams = z.strictObject(
  {
    temperature: z
      .number()
      .min(0, 'temperature must be between 0 and 2')
      .max(2, 'temperature must be between 0 and 2')
      .optional(),
    maxTokens: z
      .number()
      .int('maxTokens must be an integer')
      .min(1, 'maxTokens must be between 1 and 200000')
      .max(200_000, 'maxTokens must be between 1 and 200000')
      .optional(),
    topP: z.number().min(0, 'topP must be between 0 and 1').max(1, 'topP must be between 0 and 1').optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'params must be an object') },
);
export type AgentModelParams = z.infer<typeof AgentModelParams>;

/** A tool name: a lowercase slug (`web-search`, `fs_read`). */
export const ToolName = z
  .string()
  .regex(
    /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/,
    'Tool names are lowercase slugs: letters, digits, single - or _ between them',
  )
  .max(64, 'Tool names are at most 64 characters');

function unique<T extends z.ZodType>(item: T, what: string, max: number) {
  return z
    .array(item)
    .max(max, `At most ${max} ${what}`)
    .superRefine((values, ctx) => {
      const seen = new Set<unknown>();
      values.forEach((value, index) => {
        if (seen.has(value)) ctx.addIssue({ code: 'custom', message: `Duplicate ${what}`, path: [index] });
        seen.add(value);
      });
    });
}

export const AgentTools = unique(ToolName, 'tools', AGENT_TOOLS_MAX);
/** Secrets of the same workspace the agent may use (the vault grants them). */
export const AgentSecretIds = unique(Id, 'secret ids', AGENT_SECRETS_MAX);

export const Agent = z.object({
  id: Id,
  name: z.string(),
  description: z.string().nullable(),
  provider: AgentProvider,
  model: z.string(),
  systemPrompt: z.string(),
  params: AgentModelParams,
  tools: z.array(z.string()),
  secretIds: z.array(Id),
  /** Starts at 1; every change adds one. */
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Agent = z.infer<typeof Agent>;

export const CreateAgentRequest = z.strictObject({
  name: AgentName,
  description: AgentDescription.nullable().optional(),
  provider: AgentProvider,
  model: AgentModel,
  systemPrompt: AgentSystemPrompt.default(''),
  params: AgentModelParams.default({}),
  tools: AgentTools.default([]),
  secretIds: AgentSecretIds.default([]),
});
export type CreateAgentRequest = z.infer<typeof CreateAgentRequest>;

/**
 * Any subset of the fields. `expectedVersion`, when given, must equal the
 * agent's current version or the update is refused (409 AGENT_VERSION_CONFLICT).
 */
export const UpdateAgentRequest = z
  .strictObject({
    name: AgentName.optional(),
    description: AgentDescription.nullable().optional(),
    provider: AgentProvider.optional(),
    model: AgentModel.optional(),
    systemPrompt: AgentSystemPrompt.optional(),
    params: AgentModelParams.optional(),
    tools: AgentTools.optional(),
    secretIds: AgentSecretIds.optional(),
    expectedVersion: z.number().int().min(1).optional(),
  })
  .refine((update) => Object.keys(update).some((key) => key !== 'expectedVersion'), {
    message: 'Nothing to update: give at least one field to change',
  });
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;

export const AgentParams = z.object({ wid: Id, aid: Id });
export type AgentParams = z.infer<typeof AgentParams>;
