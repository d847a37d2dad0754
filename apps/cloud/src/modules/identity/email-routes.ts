import {
  ForgotPasswordRequest,
  ResetPasswordRequest,
  VerifyEmailRequest,
  VerifyEmailResponse,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { clientOf } from '../../plugins/actor.js';
import { principalOf } from '../../plugins/auth.js';
import { rateLimited } from '../../plugins/rate-limit.js';
import type { PasswordRecovery } from './recovery.js';
import type { EmailVerification } from './verification.js';

const NoContent = z.null().describe('No content');

/**
 * What a mailbox proves: `/v1/auth/email/*` (verify the address) and
 * `/v1/auth/password/{forgot,reset}` (recover the account), registered under
 * `/v1`. None of these needs a bearer token except resend: the code in the
 * mail is the credential.
 */
export const emailRoutes: FastifyPluginAsyncZod<{
  verification: EmailVerification;
  recovery: PasswordRecovery;
}> = async (app, { verification, recovery }) => {
  const limited = rateLimited('auth');

  app.post(
    '/auth/email/verify',
    {
      config: { ...limited, errors: ['EMAIL_VERIFICATION_TOKEN_INVALID'] },
      schema: {
        tags: ['identity'],
        body: VerifyEmailRequest,
        response: { 200: VerifyEmailResponse },
      },
    },
    async (request) => ({ user: await verification.verify(request.body.token, clientOf(request)) }),
  );

  app.post(
    '/auth/email/resend',
    {
      config: limited,
      onRequest: app.authenticate,
      schema: { tags: ['identity'], security: [{ bearer: [] }], response: { 204: NoContent } },
    },
    async (request, reply) => {
      // A refusal's details.retryAfterSeconds becomes Retry-After in the error plugin.
      await verification.resend(principalOf(request).userId, clientOf(request));
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/password/forgot',
    {
      config: limited,
      schema: {
        tags: ['identity'],
        description:
          'Mails a reset code if the address has a password account. The answer is the same either way.',
        body: ForgotPasswordRequest,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      recovery.requestReset(request.body.email, clientOf(request));
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/password/reset',
    {
      config: { ...limited, errors: ['PASSWORD_RESET_TOKEN_INVALID'] },
      schema: { tags: ['identity'], body: ResetPasswordRequest, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await recovery.reset(request.body, clientOf(request));
      return reply.status(204).send(null);
    },
  );
};
