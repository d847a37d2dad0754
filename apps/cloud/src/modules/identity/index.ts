import { hkdfSync } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { Mailer } from '../../mail/mailer.js';
import { authPlugin } from '../../plugins/auth.js';
import { createAuditRecorder } from '../audit/recorder.js';
import { createAccountService } from './accounts.js';
import { emailRoutes } from './email-routes.js';
import { createEmailTokens } from './email-tokens.js';
import { type IntervalTimers, schedulePruning } from './lockout/pruning.js';
import { createLoginThrottle } from './lockout/service.js';
import { oidcModule } from './oidc/index.js';
import { createPasswordHasher } from './passwords/hashing.js';
import { checkPasswordPolicy } from './passwords/policy.js';
import { createPrivacyService } from './privacy.js';
import { createPasswordRecovery } from './recovery.js';
import { identityRoutes } from './routes.js';
import { createSessionService } from './sessions/service.js';
import { createAccessTokens } from './tokens/access-tokens.js';
import { createEmailVerification } from './verification.js';

type IdentityOptions = {
  config: Config;
  db: Database;
  now: () => Date;
  mailer: Mailer;
  /** The pruning schedule's timers (tests); Node's by default. */
  timers?: IntervalTimers;
};

/**
 * Wires the identity feature: token keyring, sessions, accounts, the bearer
 * hook (`app.authenticate`, used by every feature after this one) and routes.
 * Not encapsulated (fastify-plugin), so `app.authenticate` reaches the others.
 */
export const identityModule = fp<IdentityOptions>(
  async (app: FastifyInstance, { config, db, now, mailer, timers }) => {
    const { auth } = config;
    const audit = createAuditRecorder({ db, now });
    const tokens = createAccessTokens({
      keyring: config.signingKeys,
      issuer: config.publicUrl,
      ttlSeconds: auth.accessTokenTtlSeconds,
      now,
    });
    // Successor refresh tokens are derived with a key of their own, taken from
    // the active master key by HKDF so no new secret has to be configured.
    const masterKey = config.masterKeys[0]?.key.export();
    if (!masterKey) throw new Error('no master key configured');
    const refreshDerivationKey = Buffer.from(
      hkdfSync('sha256', masterKey, Buffer.alloc(0), 'multiclaw refresh-token rotation', 32),
    );
    const sessions = createSessionService({
      db,
      tokens,
      audit,
      refreshDerivationKey,
      now,
      policy: {
        idleTtlSeconds: auth.sessionIdleTtlSeconds,
        absoluteTtlSeconds: auth.sessionAbsoluteTtlSeconds,
        reuseGraceSeconds: auth.refreshReuseGraceSeconds,
      },
    });
    const hasher = createPasswordHasher(auth.argon2);
    // One lockout for every password check: sign-in, password change, account deletion.
    const throttle = createLoginThrottle({ db, now, policy: auth.lockout });
    const emailTokens = createEmailTokens({ db, now });
    const mailing = { db, tokens: emailTokens, mailer, audit, publicUrl: config.publicUrl, now };
    const verification = createEmailVerification(mailing);
    const accounts = createAccountService({
      db,
      hasher,
      throttle,
      policy: checkPasswordPolicy,
      sessions,
      audit,
      verification,
    });
    await app.register(authPlugin, { tokens, sessions });
    await app.register(identityRoutes, {
      accounts,
      sessions,
      tokens,
      privacy: createPrivacyService({ db, hasher, throttle, audit, now }),
    });
    await app.register(emailRoutes, {
      verification,
      recovery: createPasswordRecovery({
        ...mailing,
        hasher,
        policy: checkPasswordPolicy,
        sessions,
        throttle,
      }),
    });
    await app.register(oidcModule, { config, db, now, sessions, audit });

    // Rows keyed by what clients send (emails tried, codes mailed) expire; delete them on a schedule.
    let pruning: ReturnType<typeof schedulePruning> | undefined;
    app.addHook('onReady', async () => {
      pruning = schedulePruning({
        logger: app.log,
        ...(timers ? { timers } : {}),
        tasks: [
          { name: 'login_throttles', run: () => throttle.prune() },
          { name: 'email_tokens', run: () => emailTokens.prune() },
        ],
      });
    });
    app.addHook('onClose', async () => {
      await pruning?.stop();
    });
  },
  { name: 'identity', dependencies: ['database', 'rate-limit'] },
);
