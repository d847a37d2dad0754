import { ApiError, DESKTOP_SECRET_HEADER, issuesOf } from '@multiclaw/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CapabilityPolicy } from '../capabilities/policy.js';
import { checkOrigin, type HostAddress, SECRET_REFUSED } from './guard.js';
import type { RegisteredCommand } from './registry.js';
import type { WindowSecrets } from './window-secrets.js';

export interface IpcDeps {
  address: HostAddress;
  secrets: WindowSecrets;
  policy: CapabilityPolicy;
  registry: ReadonlyMap<string, RegisteredCommand>;
}

/** What a command name in a URL may look like before it is even looked up (and logged). */
const COMMAND_NAME = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*){0,4}$/;

/**
 * `POST /ipc/<command>`: Origin, then the window secret (401), then the
 * window's capabilities (403, logged, the handler never runs), then the
 * input's schema (VALIDATION_FAILED); the handler's answer is checked
 * against the output schema before it leaves.
 */
export function registerIpcRoutes(app: FastifyInstance, deps: IpcDeps): void {
  const admitted = new WeakMap<FastifyRequest, { window: string; command: RegisteredCommand }>();
  app.post<{ Params: { command: string } }>(
    '/ipc/:command',
    {
      // Before the body is even read: a refused caller's body is never parsed.
      onRequest: async (request) => {
        const refused = checkOrigin(request.headers.origin, deps.address);
        if (refused) throw refused;
        const window = deps.secrets.windowOf(secretHeader(request));
        if (window === undefined) throw SECRET_REFUSED();
        const { command } = request.params as { command: string };
        admitted.set(request, { window, command: permittedCommand(request, window, command, deps) });
      },
    },
    async (request, reply) => {
      const { window, command } = admitted.get(request) as { window: string; command: RegisteredCommand };
      const name = command.name;
      const parsed = command.input.safeParse(request.body ?? {});
      if (!parsed.success)
        throw new ApiError('VALIDATION_FAILED', `The input of "${name}" is not valid`, {
          issues: issuesOf(parsed.error),
        });
      const output = await command.handler(parsed.data, { window, requestId: request.id, log: request.log });
      const checked = command.output.safeParse(output);
      if (!checked.success) {
        // Never sent: an answer outside its schema could carry what the UI must not see.
        request.log.error(
          { command: name, issues: issuesOf(checked.error) },
          'command output off its schema',
        );
        throw new ApiError('INTERNAL', 'The desktop host failed to answer');
      }
      reply.header('cache-control', 'no-store');
      return checked.data;
    },
  );
}

function secretHeader(request: FastifyRequest): string | undefined {
  const value = request.headers[DESKTOP_SECRET_HEADER];
  return typeof value === 'string' ? value : undefined;
}

/** The command, if this window may call it; otherwise the refusal is logged and answered 403. */
function permittedCommand(
  request: FastifyRequest,
  window: string,
  name: string,
  deps: IpcDeps,
): RegisteredCommand {
  const decision = deps.policy.decide(window, name);
  const command = deps.registry.get(name);
  if (decision.allowed && command) return command;
  request.log.warn(
    {
      window,
      command: COMMAND_NAME.test(name) ? name : '(malformed name)',
      reason: decision.allowed ? 'unknown command' : decision.reason,
      ...(!decision.allowed && decision.reason === 'denied' ? { deniedBy: decision.by } : {}),
    },
    'command denied',
  );
  throw new ApiError(
    'DESKTOP_COMMAND_DENIED',
    `This window may not call "${COMMAND_NAME.test(name) ? name : '?'}"`,
  );
}
