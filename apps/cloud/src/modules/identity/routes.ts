import {
  AccountExport,
  ApiError,
  ChangePasswordRequest,
  DeleteAccountRequest,
  Id,
  LoginRequest,
  LoginResponse,
  MeResponse,
  normaliseEmail,
  Page,
  RefreshRequest,
  RegisterRequest,
  RegisterResponse,
  SessionInfo,
  TokenResponse,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { clientOf } from '../../plugins/actor.js';
import { principalOf } from '../../plugins/auth.js';
import { rateLimited } from '../../plugins/rate-limit.js';
import type { AccountService } from './accounts.js';
import type { PrivacyService } from './privacy.js';
import type { SessionService } from './sessions/service.js';

const NoContent = z.null().describe('No content');

/** `/v1/auth/*` and `/v1/me` (registered under `/v1`): accounts, sign-in, sessions. */
export const identityRoutes: FastifyPluginAsyncZod<{
  accounts: AccountService;
  sessions: SessionService;
  privacy: PrivacyService;
}> = async (app, { accounts, sessions, privacy }) => {
  // Every auth endpoint draws on the per-client `auth` budget, separate from the per-account lockout.
  const limited = rateLimited('auth');

  app.post(
    '/auth/register',
    {
      config: { ...limited, errors: ['AUTH_EMAIL_TAKEN'] },
      schema: { tags: ['identity'], body: RegisterRequest, response: { 201: RegisterResponse } },
    },
    async (request, reply) => {
      const { email, password, name } = request.body;
      const user = await accounts.register(
        { email: normaliseEmail(email), password, name },
        clientOf(request),
      );
      return reply.status(201).send({ user });
    },
  );

  app.post(
    '/auth/login',
    {
      config: { ...limited, errors: ['AUTH_INVALID_CREDENTIALS'] },
      schema: { tags: ['identity'], body: LoginRequest, response: { 200: LoginResponse } },
    },
    async (request) => {
      const { email, password, clientName } = request.body;
      return accounts.login({ email: normaliseEmail(email), password }, clientOf(request, clientName));
    },
  );

  app.post(
    '/auth/refresh',
    {
      config: { ...limited, errors: ['AUTH_REFRESH_TOKEN_INVALID', 'AUTH_REFRESH_TOKEN_REUSED'] },
      schema: { tags: ['identity'], body: RefreshRequest, response: { 200: TokenResponse } },
    },
    async (request) => sessions.refresh(request.body.refreshToken, clientOf(request)),
  );

  app.post(
    '/auth/logout',
    {
      config: limited,
      onRequest: app.authenticate,
      schema: { tags: ['identity'], security: [{ bearer: [] }], response: { 204: NoContent } },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await sessions.revokeOwn(principal.userId, principal.sessionId, 'logout', clientOf(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/auth/sessions',
    {
      config: limited,
      onRequest: app.authenticate,
      schema: { tags: ['identity'], security: [{ bearer: [] }], response: { 200: Page(SessionInfo) } },
    },
    async (request) => {
      const principal = principalOf(request);
      const items = (await sessions.list(principal.userId)).map((session) => ({
        id: session.id,
        createdAt: session.createdAt.toISOString(),
        lastUsedAt: session.lastUsedAt.toISOString(),
        clientName: session.clientName,
        ip: session.ip,
        userAgent: session.userAgent,
        current: session.id === principal.sessionId,
      }));
      return { items, nextCursor: null };
    },
  );

  app.delete(
    '/auth/sessions/:id',
    {
      config: { ...limited, errors: ['NOT_FOUND'] },
      onRequest: app.authenticate,
      schema: {
        tags: ['identity'],
        security: [{ bearer: [] }],
        params: z.object({ id: Id }),
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const found = await sessions.revokeOwn(
        principal.userId,
        request.params.id,
        'revoked',
        clientOf(request),
      );
      if (!found) throw new ApiError('NOT_FOUND', 'No such session');
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/password',
    {
      config: { ...limited, errors: ['AUTH_INVALID_CREDENTIALS'] },
      onRequest: app.authenticate,
      schema: {
        tags: ['identity'],
        security: [{ bearer: [] }],
        body: ChangePasswordRequest,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await accounts.changePassword(principalOf(request), request.body, clientOf(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      onRequest: app.authenticate,
      schema: { tags: ['identity'], security: [{ bearer: [] }], response: { 200: MeResponse } },
    },
    async (request) => ({ user: await accounts.me(principalOf(request).userId) }),
  );

  app.get(
    '/me/export',
    {
      config: limited,
      onRequest: app.authenticate,
      schema: { tags: ['identity'], security: [{ bearer: [] }], response: { 200: AccountExport } },
    },
    async (request, reply) => {
      reply.header('content-disposition', 'attachment; filename="multiclaw-account-export.json"');
      return privacy.export(principalOf(request).userId);
    },
  );

  app.delete(
    '/me',
    {
      config: { ...limited, errors: ['AUTH_INVALID_CREDENTIALS', 'ACCOUNT_SOLE_OWNER'] },
      onRequest: app.authenticate,
      schema: {
        tags: ['identity'],
        security: [{ bearer: [] }],
        body: DeleteAccountRequest,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await privacy.deleteAccount(principalOf(request), request.body.password);
      return reply.status(204).send(null);
    },
  );
};
