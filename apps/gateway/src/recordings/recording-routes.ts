import { Id, RecordingStepsRequest, RecordingStepsResponse } from '@multiclaw/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from '../api/route-schemas.js';
import type { RecordingStore } from './recording-store.js';

/**
 * `POST /v1/extension/recordings/:recordingId/steps`: the one route the
 * extension token opens (scope `recordings:write`, extension-auth.ts). It
 * appends; nothing here reads a recording back.
 */
export function registerRecordingRoutes(app: FastifyInstance, recordings: RecordingStore): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/extension/recordings/:recordingId/steps',
    {
      config: { extension: 'extension-token' },
      schema: {
        params: z.strictObject({ recordingId: Id }),
        body: RecordingStepsRequest,
        response: { 200: RecordingStepsResponse },
      },
    },
    async (request) => {
      // extension-auth.ts set it, or the request never got here.
      const pairing = request.extensionPairing as NonNullable<typeof request.extensionPairing>;
      return recordings.appendSteps(request.params.recordingId, pairing.id, request.body);
    },
  );
}
