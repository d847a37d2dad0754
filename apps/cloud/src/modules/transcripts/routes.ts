import {
  ConversationListQuery,
  ConversationParams,
  ConversationSummary,
  MessageListQuery,
  Page,
  TranscriptMessage,
  WorkspaceParams,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../plugins/actor.js';
import { membershipOf } from '../workspaces/access.js';
import type { TranscriptService } from './service.js';

const NoContent = z.null().describe('No content');
const common = { tags: ['transcripts'], security: [{ bearer: [] }] };

/**
 * `/v1/workspaces/:wid/conversations`, inside the workspace scope (app.ts).
 * Each route declares the `_own` action every member has; the service widens
 * to everyone's conversations only for a role with the `_any` action, and
 * answers CONVERSATION_NOT_FOUND for one the caller may not see.
 */
export const transcriptRoutes: FastifyPluginAsyncZod<{ transcripts: TranscriptService }> = async (
  app,
  { transcripts },
) => {
  app.get(
    '/conversations',
    {
      config: { action: 'transcripts.read_own' },
      schema: {
        ...common,
        params: WorkspaceParams,
        querystring: ConversationListQuery,
        response: { 200: Page(ConversationSummary) },
      },
    },
    async (request) => transcripts.list(membershipOf(request), request.query),
  );

  app.get(
    '/conversations/:cid/messages',
    {
      config: { action: 'transcripts.read_own' },
      schema: {
        ...common,
        params: ConversationParams,
        querystring: MessageListQuery,
        response: { 200: Page(TranscriptMessage) },
      },
    },
    async (request, reply) => {
      const page = await transcripts.messages(membershipOf(request), request.params.cid, request.query);
      // Conversation text: no shared cache keeps it.
      return reply.header('cache-control', 'private, no-store').send(page);
    },
  );

  app.delete(
    '/conversations/:cid',
    {
      config: { action: 'transcripts.delete_own' },
      schema: { ...common, params: ConversationParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await transcripts.remove(actorOf(request), membershipOf(request), request.params.cid);
      return reply.status(204).send(null);
    },
  );
};
