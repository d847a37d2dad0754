import {
  CreateSecretRequest,
  Page,
  PageQuery,
  RevealSecretResponse,
  Secret,
  SecretParams,
  UpdateSecretRequest,
  WorkspaceParams,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../plugins/actor.js';
import { membershipOf } from '../workspaces/access.js';
import type { SecretService } from './secrets-service.js';

const NoContent = z.null().describe('No content');
const common = { tags: ['vault'], security: [{ bearer: [] }] };

/**
 * `/v1/workspaces/:wid/secrets`, inside the workspace scope (app.ts): every
 * member lists names and metadata; owners create, change, delete and reveal.
 * The scope's hooks have checked the caller's role for the declared action
 * before a handler runs; handlers scope every query by the workspace of that
 * membership. Only `reveal` answers with a value, marked `no-store`. Paths are
 * relative to the prefix; '' is the collection itself.
 */
export const secretRoutes: FastifyPluginAsyncZod<{ secrets: SecretService }> = async (app, { secrets }) => {
  app.get(
    '',
    {
      config: { action: 'secrets.list' },
      schema: { ...common, params: WorkspaceParams, querystring: PageQuery, response: { 200: Page(Secret) } },
    },
    async (request) => secrets.list(membershipOf(request).workspaceId, request.query),
  );

  app.post(
    '',
    {
      config: { action: 'secrets.create', errors: ['SECRET_NAME_TAKEN'] },
      schema: { ...common, params: WorkspaceParams, body: CreateSecretRequest, response: { 201: Secret } },
    },
    async (request, reply) => {
      const secret = await secrets.create(membershipOf(request).workspaceId, request.body, actorOf(request));
      return reply.status(201).send(secret);
    },
  );

  app.get(
    '/:sid',
    {
      config: { action: 'secrets.list' },
      schema: { ...common, params: SecretParams, response: { 200: Secret } },
    },
    async (request) => secrets.get(membershipOf(request).workspaceId, request.params.sid),
  );

  app.put(
    '/:sid',
    {
      config: { action: 'secrets.update', errors: ['SECRET_NAME_TAKEN'] },
      schema: { ...common, params: SecretParams, body: UpdateSecretRequest, response: { 200: Secret } },
    },
    async (request) =>
      secrets.update(membershipOf(request).workspaceId, request.params.sid, request.body, actorOf(request)),
  );

  app.delete(
    '/:sid',
    {
      config: { action: 'secrets.delete' },
      schema: { ...common, params: SecretParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await secrets.delete(membershipOf(request).workspaceId, request.params.sid, actorOf(request));
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/:sid/reveal',
    {
      config: { action: 'secrets.reveal', errors: ['VAULT_INTEGRITY_FAILED'] },
      schema: { ...common, params: SecretParams, response: { 200: RevealSecretResponse } },
    },
    async (request, reply) => {
      const revealed = await secrets.reveal(
        membershipOf(request).workspaceId,
        request.params.sid,
        actorOf(request),
      );
      return reply.header('cache-control', 'no-store').send(revealed);
    },
  );
};
