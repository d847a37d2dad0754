import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccessTokens } from '../identity/tokens/access-tokens.js';

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

/**
 * `/.well-known/*` (registered under that prefix): what the server publishes
 * about itself, the security contact and the public keys its access tokens
 * are signed with.
 */
export const metaRoutes: FastifyPluginAsyncZod<{
  contact: string;
  publicUrl: string;
  now: () => Date;
  /** The public half of the access-token keyring. */
  jwks: AccessTokens['jwks'];
}> = async (app, options) => {
  app.get(
    '/security.txt',
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

  app.get(
    '/jwks.json',
    {
      schema: {
        tags: ['identity'],
        response: { 200: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return options.jwks();
    },
  );
};
