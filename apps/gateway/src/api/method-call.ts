import { ApiError, type GatewayMethod, GatewayMethods, issuesOf } from '@multiclaw/protocol';
import { isScopedMethod, METHOD_SCOPES, missingScope } from './method-scopes.js';
import { ProtocolRefusal } from './protocol-errors.js';

/**
 * The checks before a method runs, in order: it exists (`unknown method`),
 * the connection holds its scope (FORBIDDEN / MISSING_SCOPE, and nothing
 * runs), its params match its schema (VALIDATION_FAILED with the issues).
 * Returns the method and its parsed params.
 */
export function admitCall(
  method: string,
  params: unknown,
  scopes: readonly string[],
): { method: GatewayMethod; params: unknown } {
  if (!Object.hasOwn(GatewayMethods, method) || !isScopedMethod(method))
    throw new ProtocolRefusal('INVALID_REQUEST', `unknown method: ${method}`, 'UNKNOWN_METHOD');
  const lacking = missingScope(method, scopes);
  if (lacking)
    throw new ProtocolRefusal('FORBIDDEN', `missing scope: ${lacking}`, 'MISSING_SCOPE', {
      details: { missingScope: lacking, requiredScopes: [METHOD_SCOPES[method]] },
    });
  const known = method as GatewayMethod;
  const parsed = GatewayMethods[known].params.safeParse(params);
  if (!parsed.success)
    throw new ApiError('VALIDATION_FAILED', `invalid ${method} params`, { issues: issuesOf(parsed.error) });
  return { method: known, params: parsed.data };
}
