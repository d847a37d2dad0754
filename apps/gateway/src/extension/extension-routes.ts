import { ExtensionPairRequest, ExtensionPairResponse } from '@multiclaw/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from '../api/route-schemas.js';
import type { ExtensionAccess } from './extension-access.js';

/**
 * `POST /v1/extension/pair`: the popup's code for a `recordings:write` token.
 * The Origin (checked in extension-auth.ts) names the extension; it is the
 * origin the gateway adds to its allowlist.
 */
export function registerExtensionRoutes(app: FastifyInstance, extension: ExtensionAccess): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/extension/pair',
    {
      config: { extension: 'pairing-code' },
      schema: { body: ExtensionPairRequest, response: { 200: ExtensionPairResponse } },
    },
    async (request) => extension.exchange(request.body.code, request.headers.origin as string),
  );
}
