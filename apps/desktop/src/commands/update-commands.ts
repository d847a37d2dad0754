import { ConfigError, type GatewayPaths } from '@multiclaw/gateway/client';
import { ApiError, type DesktopCommandOutput } from '@multiclaw/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { CommandHandlers } from '../ipc/registry.js';

export interface UpdateCommandDeps {
  gatewayPaths: GatewayPaths;
  env: NodeJS.ProcessEnv;
}

/**
 * The gateway's signed updates from the desktop: the same updater as
 * `multiclaw-gateway update check|apply`, run only when the person asks (the
 * UI's notice and its button). Loaded on first use: a start of the desktop
 * pulls in no verification code.
 */
export function updateCommands(
  deps: UpdateCommandDeps,
): Pick<CommandHandlers, 'updates.check' | 'updates.apply'> {
  async function run(action: 'check' | 'apply', log: FastifyBaseLogger) {
    const updates = await import('@multiclaw/gateway/update');
    try {
      return await updates.gatewayUpdate(action, deps.gatewayPaths, deps.env, (message) => log.warn(message));
    } catch (error) {
      if (error instanceof updates.UpdateNotConfiguredError) return undefined;
      throw asApiError(error, updates.isRefusal);
    }
  }

  return {
    'updates.check': async (_input, { log }): Promise<DesktopCommandOutput<'updates.check'>> => {
      const result = await run('check', log);
      if (!result) return { status: 'not-configured' };
      if (result.status === 'available') {
        const { version, channel, expires } = result.release;
        return { status: 'available', version, channel, expires: expires.toISOString() };
      }
      return { status: 'up-to-date', version: result.version };
    },
    'updates.apply': async (_input, { log }): Promise<DesktopCommandOutput<'updates.apply'>> => {
      const result = await run('apply', log);
      if (!result) return { status: 'not-configured' };
      if (result.status === 'installed') {
        log.info({ version: result.version, previous: result.previous }, 'installed a gateway update');
        return { status: 'installed', version: result.version, previous: result.previous };
      }
      if (result.status === 'up-to-date') return { status: 'up-to-date', version: result.version };
      // `apply` never answers "available"; a result outside the contract is not passed on.
      throw new ApiError('INTERNAL', 'The updater answered something unexpected');
    },
  };
}

/** The updater's refusals in the project's envelope; the reason code is the one docs/releasing.md lists. */
function asApiError(
  error: unknown,
  isRefusal: (error: unknown) => error is { code: string; message: string },
) {
  const code = (error as { code?: unknown }).code;
  if (isRefusal(error) && error.code !== 'DOWNLOAD_FAILED')
    return new ApiError('UPDATE_REFUSED', error.message, { reason: error.code });
  if (isRefusal(error) || code === 'EGRESS_REFUSED')
    return new ApiError('UPDATE_FEED_UNREACHABLE', (error as Error).message, { reason: String(code) });
  if (error instanceof ConfigError)
    return new ApiError('UPDATE_REFUSED', error.message, { reason: 'CONFIG_INVALID' });
  return error;
}
