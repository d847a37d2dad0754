import type { DesktopCommandOutput } from '@multiclaw/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConnection } from '../gateway/gateway-connection.js';
import { spawnGateway } from '../gateway/gateway-process.js';
import type { CommandHandlers } from '../ipc/registry.js';

type StartOutcome = DesktopCommandOutput<'gateway.start'>;

export interface GatewayCommandDeps {
  gateway: GatewayConnection;
  env: NodeJS.ProcessEnv;
  logDir: string;
}

export function gatewayCommands(
  deps: GatewayCommandDeps,
): Pick<CommandHandlers, 'gateway.status' | 'gateway.start'> {
  let pending: Promise<StartOutcome> | undefined;

  async function start(log: FastifyBaseLogger): Promise<StartOutcome> {
    const status = await deps.gateway.status();
    if (status.state === 'running' || status.state === 'refusing') return { outcome: 'running' };
    if (status.state === 'starting') return { outcome: 'starting' };
    const launched = await spawnGateway({ env: deps.env, logDir: deps.logDir });
    deps.gateway.markStarting();
    log.info({ pid: launched.pid, logFile: launched.logFile }, 'started the gateway');
    // A gateway that exits at once (a bad config, a taken port) is no longer "starting": its log says why.
    void launched.exited.then((code) => {
      if (!deps.gateway.isConnected()) {
        deps.gateway.clearStarting();
        log.warn({ exit: code, logFile: launched.logFile }, 'the gateway the desktop started has exited');
      }
    });
    return {
      outcome: 'started',
      ...(launched.pid === undefined ? {} : { pid: launched.pid }),
      logFile: launched.logFile,
    };
  }

  return {
    'gateway.status': () => deps.gateway.status(),
    // One start at a time: two quick clicks must not spawn two gateways.
    'gateway.start': (_input, { log }) => {
      pending ??= start(log).finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}
