import { RECORDING_METHOD_SCOPES } from '../recordings/method-scopes.js';

/**
 * Which operator scope each gateway method needs, as data (OpenClaw protocol
 * v4's names and rules): reads need `operator.read`, runs `operator.write`,
 * configuration `operator.admin`. `operator.admin` satisfies every scope and
 * `operator.write` also satisfies `operator.read`, as in OpenClaw. A method
 * not in this table is not served at all.
 */
export const OPERATOR_SCOPES = [
  'operator.read',
  'operator.write',
  'operator.admin',
  'operator.approvals',
  'operator.pairing',
] as const;
export type OperatorScope = (typeof OPERATOR_SCOPES)[number];

export const METHOD_SCOPES = {
  health: 'operator.read',
  status: 'operator.read',
  'agents.list': 'operator.read',
  'agents.create': 'operator.admin',
  'agents.update': 'operator.admin',
  'agents.delete': 'operator.admin',
  agent: 'operator.write',
  'agent.wait': 'operator.write',
  'chat.send': 'operator.write',
  'chat.abort': 'operator.write',
  'chat.history': 'operator.read',
  'sessions.list': 'operator.read',
  'sessions.describe': 'operator.read',
  'sessions.get': 'operator.read',
  'sessions.delete': 'operator.admin',
  'sessions.reset': 'operator.admin',
  // Ours, beside OpenClaw's agent methods: the whole local definition (system prompt included).
  'multiclaw.agents.get': 'operator.read',
  'multiclaw.agents.upsert': 'operator.admin',
  ...RECORDING_METHOD_SCOPES,
} as const satisfies Record<string, OperatorScope>;
export type ScopedMethod = keyof typeof METHOD_SCOPES;

export function isScopedMethod(method: string): method is ScopedMethod {
  return Object.hasOwn(METHOD_SCOPES, method);
}

/** Whether the scopes a connection was granted include `required`, by OpenClaw's implications. */
export function scopeSatisfied(required: OperatorScope, granted: readonly string[]): boolean {
  if (granted.includes(required) || granted.includes('operator.admin')) return true;
  return required === 'operator.read' && granted.includes('operator.write');
}

/** The scope a call lacks, or undefined when the connection may make it. */
export function missingScope(method: ScopedMethod, granted: readonly string[]): OperatorScope | undefined {
  const required = METHOD_SCOPES[method];
  return scopeSatisfied(required, granted) ? undefined : required;
}
