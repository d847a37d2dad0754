import { randomBytes } from 'node:crypto';
import type { Algorithm, Options as Argon2Options, Version } from '@node-rs/argon2';
import * as argon2 from '@node-rs/argon2';
import { MAX_PASSWORD_BYTES, normalisePassword } from './policy.js';

/**
 * Password hashing: argon2id (RFC 9106) through `@node-rs/argon2`, stored as
 * PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) so every hash carries
 * the parameters that made it and they can be raised later (`needsRehash`).
 *
 * Each hash holds `memoryKiB` of memory for tens of milliseconds, so the
 * number running at once is bounded: at most `concurrency` run, the rest wait
 * in a FIFO queue of at most `maxQueue`, and beyond that callers are refused
 * at once with `PasswordHasherBusyError` — a flood of sign-ins queues, then
 * sheds load, instead of exhausting memory.
 *
 * Passwords are hashed in their Unicode NFC form (like the policy counts
 * them), so one password typed on systems that compose differently verifies.
 */

/** OWASP's floor for argon2id (m = 19 MiB, t = 2, p = 1); weaker settings are refused. */
export const MIN_ARGON2_PARAMS = { memoryKiB: 19_456, timeCost: 2, parallelism: 1 } as const;
/** Queue length when the caller does not choose one. */
export const DEFAULT_MAX_QUEUE = 256;

// The package's `Algorithm` and `Version` are const enums, which isolated
// modules cannot read at run time: these are their documented values.
const ARGON2ID = 2 as Algorithm;
const VERSION_0X13 = 1 as Version;
const SALT_BYTES = 16;
const OUTPUT_BYTES = 32;

export type PasswordHasherParams = {
  /** Memory per hash, in KiB (argon2 `m`). At least 19456. */
  memoryKiB: number;
  /** Passes over memory (argon2 `t`). At least 2. */
  timeCost: number;
  /** Lanes (argon2 `p`). At least 1. */
  parallelism: number;
  /** Hashes and verifications allowed to run at the same time. */
  concurrency: number;
  /** Callers allowed to wait for a slot; more are refused. Default 256. */
  maxQueue?: number;
};

/** The argon2 functions the hasher calls; replaceable in tests to observe them. */
export type Argon2Implementation = {
  hash(password: string, options: Argon2Options): Promise<string>;
  verify(phc: string, password: string): Promise<boolean>;
};

export type PasswordHasher = {
  /** A new salted argon2id hash of the password, as a PHC string. */
  hash(password: string): Promise<string>;
  /** Whether the password matches; rejects if `phc` is not an argon2 PHC string. */
  verify(phc: string, password: string): Promise<boolean>;
  /** True when `phc` was made with other parameters than the current ones (or is unreadable). */
  needsRehash(phc: string): boolean;
  /**
   * Costs what `verify` costs (same parameters, same queue) and is always
   * false: for sign-ins with no account or no password, so they take as long
   * as a wrong password.
   */
  verifyDummy(password: string): Promise<false>;
  /** Running and waiting jobs right now (for metrics and tests). */
  load(): { running: number; queued: number };
};

/** The hashing queue is full: answer 503 and let the client retry later. */
export class PasswordHasherBusyError extends Error {
  readonly code = 'PASSWORD_HASHER_BUSY';
  constructor() {
    super('Too many password hashes are waiting; try again shortly');
    this.name = 'PasswordHasherBusyError';
  }
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`password hasher: ${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
}

/** A FIFO counting semaphore with a bounded waiting line. */
function createLimiter(concurrency: number, maxQueue: number) {
  let running = 0;
  const waiting: Array<() => void> = [];

  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };

  return {
    load: () => ({ running, queued: waiting.length }),
    async run<T>(job: () => Promise<T>): Promise<T> {
      if (running < concurrency) {
        running += 1;
      } else {
        if (waiting.length >= maxQueue) throw new PasswordHasherBusyError();
        // The slot is handed over by `release` without being freed in between,
        // so a newcomer can never overtake a waiting caller.
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      try {
        return await job();
      } finally {
        release();
      }
    },
  };
}

const base64NoPad = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

export function createPasswordHasher(
  params: PasswordHasherParams,
  implementation: Argon2Implementation = argon2,
): PasswordHasher {
  const { memoryKiB, timeCost, parallelism, concurrency, maxQueue = DEFAULT_MAX_QUEUE } = params;
  requireInteger('memoryKiB', memoryKiB, MIN_ARGON2_PARAMS.memoryKiB, 4 * 1024 * 1024);
  requireInteger('timeCost', timeCost, MIN_ARGON2_PARAMS.timeCost, 100);
  requireInteger('parallelism', parallelism, MIN_ARGON2_PARAMS.parallelism, 255);
  requireInteger('concurrency', concurrency, 1, 1024);
  requireInteger('maxQueue', maxQueue, 0, 1_000_000);

  const options: Argon2Options = {
    algorithm: ARGON2ID,
    version: VERSION_0X13,
    memoryCost: memoryKiB,
    timeCost,
    parallelism,
    outputLen: OUTPUT_BYTES,
  };
  const limiter = createLimiter(concurrency, maxQueue);

  // A well-formed hash of no password: random salt and random digest under the
  // current parameters. Verifying against it runs the full argon2id computation
  // and can only fail (a match would need a 256-bit preimage).
  const dummyPhc =
    `$argon2id$v=19$m=${memoryKiB},t=${timeCost},p=${parallelism}` +
    `$${base64NoPad(randomBytes(SALT_BYTES))}$${base64NoPad(randomBytes(OUTPUT_BYTES))}`;

  const tooLong = (password: string) => Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;

  return {
    async hash(password) {
      const normalised = normalisePassword(password);
      if (tooLong(normalised)) {
        throw new RangeError(`password hasher: passwords are at most ${MAX_PASSWORD_BYTES} bytes`);
      }
      return limiter.run(() => implementation.hash(normalised, options));
    },

    async verify(phc, password) {
      const normalised = normalisePassword(password);
      // No stored password can be this long (hash() refuses it): a certain
      // mismatch, answered without spending a hash on it.
      if (tooLong(normalised)) return false;
      return limiter.run(() => implementation.verify(phc, normalised));
    },

    needsRehash(phc) {
      let stored: argon2.ParsedHashOptions;
      try {
        stored = argon2.parseOptions(phc);
      } catch {
        return true;
      }
      return (
        stored.algorithm !== ARGON2ID ||
        stored.version !== VERSION_0X13 ||
        stored.memoryCost !== memoryKiB ||
        stored.timeCost !== timeCost ||
        stored.parallelism !== parallelism ||
        stored.outputLen !== OUTPUT_BYTES ||
        stored.saltLen < SALT_BYTES
      );
    },

    async verifyDummy(password) {
      const normalised = normalisePassword(password);
      if (!tooLong(normalised)) await limiter.run(() => implementation.verify(dummyPhc, normalised));
      return false;
    },

    load: limiter.load,
  };
}
