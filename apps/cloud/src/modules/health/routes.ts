import { ApiError } from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const READINESS_TIMEOUT_MS = 2_000;

/** `/healthz`: the process is alive. `/readyz`: it can serve, so the database answers. */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    { schema: { tags: ['operations'], response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    { schema: { tags: ['operations'], response: { 200: z.object({ status: z.literal('ready') }) } } },
    async (request) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('database ping timed out')), READINESS_TIMEOUT_MS);
      });
      try {
        await Promise.race([app.db.$queryRaw`SELECT 1`, timeout]);
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed: database unreachable');
        throw new ApiError('SERVICE_UNAVAILABLE', 'The database is unreachable');
      } finally {
        clearTimeout(timer);
      }
      return { status: 'ready' as const };
    },
  );
};
