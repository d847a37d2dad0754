import { ErrorEnvelope } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { describe, expect, it } from 'vitest';
import { testActors } from '../../../test/support/actors.js';
import { useTestApp } from '../../../test/support/app.js';

/**
 * The password typed to delete an account is one more guess at that account:
 * it counts toward the same lockout as sign-in, so a stolen access token is
 * not an unthrottled password oracle.
 */

const PASSWORD = 'deletion lockout passphrase 1';
const clock = manualClock('2030-01-01T00:00:00Z');

const app = useTestApp({
  now: clock.now,
  env: { AUTH_RATE_LIMIT_MAX: '100000', AUTH_LOCKOUT_THRESHOLD: '5', AUTH_LOCKOUT_BASE_SECONDS: '60' },
});
const { send, signUp } = testActors(app, {
  address: '203.0.113.11',
  userAgent: 'deletion-lockout-test',
  password: PASSWORD,
});

const emailOf = async (userId: string) =>
  (await app().app.db.user.findUniqueOrThrow({ where: { id: userId } })).email;
const deleteAccount = (token: string, password: string) =>
  send({ method: 'DELETE', url: '/v1/me', token, payload: { password } });
const login = async (email: string) =>
  send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });

describe('DELETE /v1/me and the sign-in lockout', () => {
  it('wrong passwords here lock sign-in, and a locked account is not deleted even with the right one', async () => {
    const person = await signUp();
    const email = await emailOf(person.id);
    for (let i = 0; i < 5; i += 1) {
      const wrong = await deleteAccount(person.token, `guess ${i}`);
      expect(wrong.statusCode).toBe(401);
      expect(ErrorEnvelope.parse(wrong.json()).error.code).toBe('AUTH_INVALID_CREDENTIALS');
    }
    expect((await login(email)).statusCode).toBe(401);
    const locked = await deleteAccount(person.token, PASSWORD);
    expect(locked.statusCode).toBe(401);
    expect(ErrorEnvelope.parse(locked.json()).error.message).toMatch(/try again after/);
    expect(await app().app.db.user.findUnique({ where: { id: person.id } })).not.toBeNull();
    const lockouts = await app().app.db.auditEvent.count({
      where: { actorId: person.id, action: 'auth.lockout' },
    });
    expect(lockouts).toBe(1);

    clock.advanceSeconds(61);
    expect((await deleteAccount(person.token, PASSWORD)).statusCode).toBe(204);
    expect(await app().app.db.user.findUnique({ where: { id: person.id } })).toBeNull();
  });

  it('failed sign-ins count here too', async () => {
    const person = await signUp();
    const email = await emailOf(person.id);
    for (let i = 0; i < 5; i += 1) {
      const wrong = await send({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: `guess ${i}` },
      });
      expect(wrong.statusCode).toBe(401);
    }
    expect((await deleteAccount(person.token, PASSWORD)).statusCode).toBe(401);
    expect(await app().app.db.user.findUnique({ where: { id: person.id } })).not.toBeNull();
    clock.advanceSeconds(61);
    expect((await deleteAccount(person.token, PASSWORD)).statusCode).toBe(204);
  });

  it('a right password clears the count, as a sign-in does', async () => {
    const person = await signUp();
    const email = await emailOf(person.id);
    for (let i = 0; i < 4; i += 1)
      expect((await deleteAccount(person.token, `guess ${i}`)).statusCode).toBe(401);
    // Refused for another reason (sole owner of a shared workspace), but the password was right.
    const other = await signUp();
    await app().app.db.workspace.create({
      data: {
        name: 'shared',
        memberships: {
          create: [
            { userId: person.id, role: 'owner' },
            { userId: other.id, role: 'member' },
          ],
        },
      },
    });
    expect((await deleteAccount(person.token, PASSWORD)).statusCode).toBe(409);
    expect(await app().app.db.loginThrottle.findUnique({ where: { email } })).toBeNull();
  });
});
