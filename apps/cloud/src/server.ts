import { createLogger } from '@multiclaw/runtime/logger';
import { createShutdown, ExitCode, shutdownOnSignals } from '@multiclaw/runtime/shutdown';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createPrismaClient } from './db/client.js';
import { applyMigrations } from './db/migrate.js';
import { prepareDevelopmentState } from './dev-state.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const requestedLevel = process.env.LOG_LEVEL ?? 'info';
// config.ts validates LOG_LEVEL properly; this only keeps start-up logging alive until then.
const logger = createLogger({
  service: 'multiclaw-cloud',
  level: LEVELS.includes(requestedLevel) ? requestedLevel : 'info',
});

async function main(): Promise<number> {
  let development: Awaited<ReturnType<typeof prepareDevelopmentState>>;
  try {
    development = await prepareDevelopmentState(process.env, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'could not prepare the development state');
    return ExitCode.UNAVAILABLE;
  }

  let config: Config;
  try {
    config = loadConfig(development.env);
  } catch (error) {
    await development.stop();
    if (error instanceof ConfigError) {
      logger.fatal({ problems: error.problems }, error.message);
      return ExitCode.CONFIG;
    }
    throw error;
  }

  if (config.env !== 'production') {
    // Outside production the server migrates itself; in production the
    // operator runs `pnpm db:migrate` as a deliberate step (docs/self-hosting.md).
    try {
      const { applied } = await applyMigrations({
        databaseUrl: config.databaseUrl,
        log: (line) => logger.info(line),
      });
      logger.info(
        { applied },
        applied.length > 0 ? 'applied database migrations' : 'database schema is up to date',
      );
    } catch (error) {
      logger.fatal({ err: error }, 'could not migrate the database');
      await development.stop();
      return ExitCode.UNAVAILABLE;
    }
  }

  const db = createPrismaClient(config.databaseUrl);
  const app = await buildApp({ config, db, logger });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    logger.fatal({ err: error, host: config.host, port: config.port }, 'could not listen');
    await app.close();
    await development.stop();
    return ExitCode.UNAVAILABLE;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const scheme = config.tls ? 'https' : 'http';
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  logger.info(
    { url: `${scheme}://${host}:${port}` },
    `MultiClaw Cloud listening on ${scheme}://${host}:${port}`,
  );

  const shutdown = createShutdown({
    app,
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    afterClose: [() => development.stop()],
  });
  return shutdownOnSignals(shutdown);
}

main().then(
  (code) => {
    logger.flush();
    process.exit(code);
  },
  (error: unknown) => {
    logger.fatal({ err: error }, 'unexpected failure');
    logger.flush();
    process.exit(ExitCode.SOFTWARE);
  },
);
