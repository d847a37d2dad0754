import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const SECURITY_TXT_VALIDITY_DAYS = 180;

/** RFC 9116 security.txt; `Expires` rolls forward so it never goes stale on a long-running server. */
export function renderSecurityTxt(options: { contact: string; publicUrl: string; now: Date }): string {
  const expires = new Date(options.now.getTime() + SECURITY_TXT_VALIDITY_DAYS * 86_400_000);
  expires.setUTCHours(0, 0, 0, 0);
  return [
    `Contact: ${options.contact}`,
    `Expires: ${expires.toISOString()}`,
    'Preferred-Languages: en',
    `Canonical: ${options.publicUrl}/.well-known/security.txt`,
    '',
  ].join('\n');
}

export const metaRoutes: FastifyPluginAsyncZod<{
  contact: string;
  publicUrl: string;
  now: () => Date;
}> = async (app, options) => {
  app.get(
    '/.well-known/security.txt',
    { schema: { tags: ['operations'], response: { 200: z.string() } } },
    async (_request, reply) => {
      reply.type('text/plain; charset=utf-8');
      return renderSecurityTxt({
        contact: options.contact,
        publicUrl: options.publicUrl,
        now: options.now(),
      });
    },
  );
};
