import * as argon2 from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import {
  type Argon2Implementation,
  createPasswordHasher,
  MIN_ARGON2_PARAMS,
  PasswordHasherBusyError,
} from './hashing.js';

const PARAMS = { memoryKiB: 19_456, timeCost: 2, parallelism: 1, concurrency: 2 };

/** The real argon2, wrapped to record how many calls are in flight at once and in which order they start. */
function instrumentedArgon2() {
  const stats = { inFlight: 0, maxInFlight: 0, calls: 0, verifiedPhcs: [] as string[] };
  const track = async <T>(work: () => Promise<T>): Promise<T> => {
    stats.calls += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      return await work();
    } finally {
      stats.inFlight -= 1;
    }
  };
  const implementation: Argon2Implementation = {
    hash: (password, options) => track(() => argon2.hash(password, options)),
    verify: (phc, password) => {
      stats.verifiedPhcs.push(phc);
      return track(() => argon2.verify(phc, password));
    },
  };
  return { implementation, stats };
}

/** A fake argon2 whose calls finish only when the test releases them. */
function gatedArgon2() {
  const started: string[] = [];
  const pending: Array<() => void> = [];
  const implementation: Argon2Implementation = {
    hash: (password) =>
      new Promise((resolve) => {
        started.push(password);
        pending.push(() => resolve(`hash:${password}`));
      }),
    verify: (_phc, password) =>
      new Promise((resolve) => {
        started.push(password);
        pending.push(() => resolve(false));
      }),
  };
  const releaseOne = async () => {
    pending.shift()?.();
    await flush();
  };
  return { implementation, started, pending, releaseOne };
}

/** Lets every already-settled promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('password hasher', () => {
  it('hashes with argon2id and verifies the right password only', async () => {
    const hasher = createPasswordHasher(PARAMS);
    const phc = await hasher.hash('correct horse battery staple');
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await hasher.verify(phc, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(phc, 'correct horse battery stapl')).toBe(false);
    expect(await hasher.verify(phc, 'Correct horse battery staple')).toBe(false);
    expect(await hasher.verify(phc, '')).toBe(false);
    // A fresh salt every time.
    expect(await hasher.hash('correct horse battery staple')).not.toBe(phc);
  });

  it('stores the parameters in the hash', async () => {
    const hasher = createPasswordHasher({ ...PARAMS, memoryKiB: 20_000, timeCost: 3, parallelism: 2 });
    const phc = await hasher.hash('a long enough password');
    expect(phc.startsWith('$argon2id$v=19$m=20000,t=3,p=2$')).toBe(true);
    expect(argon2.parseOptions(phc)).toMatchObject({
      algorithm: 2,
      memoryCost: 20_000,
      timeCost: 3,
      parallelism: 2,
      outputLen: 32,
      saltLen: 16,
    });
    // Another hasher with other parameters still verifies it: they travel with the hash.
    expect(await createPasswordHasher(PARAMS).verify(phc, 'a long enough password')).toBe(true);
  });

  it('verifies a password typed in another Unicode normal form', async () => {
    const hasher = createPasswordHasher(PARAMS);
    const phc = await hasher.hash('caf\u00e9 au lait s\u00fc\u00df'); // composed
    expect(await hasher.verify(phc, 'cafe\u0301 au lait su\u0308\u00df')).toBe(true); // decomposed
  });

  it('asks for a rehash when the parameters change, not before', async () => {
    const current = createPasswordHasher(PARAMS);
    const phc = await current.hash('a long enough password');
    expect(current.needsRehash(phc)).toBe(false);
    expect(createPasswordHasher({ ...PARAMS, concurrency: 7 }).needsRehash(phc)).toBe(false);
    expect(createPasswordHasher({ ...PARAMS, memoryKiB: 65_536 }).needsRehash(phc)).toBe(true);
    expect(createPasswordHasher({ ...PARAMS, timeCost: 3 }).needsRehash(phc)).toBe(true);
    expect(createPasswordHasher({ ...PARAMS, parallelism: 2 }).needsRehash(phc)).toBe(true);
    // Other algorithms, versions and unreadable strings are upgraded too.
    const argon2i = await argon2.hash('x', {
      algorithm: 1 as argon2.Algorithm,
      memoryCost: 19_456,
      timeCost: 2,
    });
    expect(current.needsRehash(argon2i)).toBe(true);
    expect(current.needsRehash(phc.replace('v=19', 'v=16'))).toBe(true);
    expect(current.needsRehash('$2b$12$abcdefghijklmnopqrstuu')).toBe(true);
    expect(current.needsRehash('')).toBe(true);
  });

  it.each([
    ['memoryKiB', { memoryKiB: MIN_ARGON2_PARAMS.memoryKiB - 1 }],
    ['timeCost', { timeCost: 1 }],
    ['parallelism', { parallelism: 0 }],
    ['concurrency', { concurrency: 0 }],
    ['maxQueue', { maxQueue: -1 }],
    ['memoryKiB', { memoryKiB: 19_456.5 }],
  ])('refuses a weak or invalid %s', (name, override) => {
    expect(() => createPasswordHasher({ ...PARAMS, ...override })).toThrow(new RegExp(`${name} must be`));
  });

  it('runs a dummy verification under the current parameters that always fails', async () => {
    const { implementation, stats } = instrumentedArgon2();
    const hasher = createPasswordHasher({ ...PARAMS, timeCost: 3 }, implementation);
    for (const password of ['', 'hunter2', 'correct horse battery staple']) {
      expect(await hasher.verifyDummy(password)).toBe(false);
    }
    expect(stats.calls).toBe(3);
    // It runs the real argon2id computation with the same parameters as a real
    // verification, against a well-formed hash.
    for (const phc of stats.verifiedPhcs) {
      expect(argon2.parseOptions(phc)).toMatchObject({ algorithm: 2, memoryCost: 19_456, timeCost: 3 });
      expect(hasher.needsRehash(phc)).toBe(false);
    }
  });

  it('refuses to hash an over-long password and never matches one', async () => {
    const { implementation, stats } = instrumentedArgon2();
    const hasher = createPasswordHasher(PARAMS, implementation);
    const huge = 'x'.repeat(1025);
    await expect(hasher.hash(huge)).rejects.toThrow(RangeError);
    expect(await hasher.verify('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA', huge)).toBe(false);
    expect(stats.calls).toBe(0);
    // 256 four-byte characters is exactly at the bound and is hashed.
    const phc = await hasher.hash('\u{1f600}'.repeat(256));
    expect(await hasher.verify(phc, '\u{1f600}'.repeat(256))).toBe(true);
  });

  it('rejects a malformed stored hash and frees its slot', async () => {
    const hasher = createPasswordHasher({ ...PARAMS, concurrency: 1, maxQueue: 0 });
    await expect(hasher.verify('not a hash', 'password')).rejects.toThrow();
    expect(hasher.load()).toEqual({ running: 0, queued: 0 });
    const phc = await hasher.hash('still works fine');
    expect(await hasher.verify(phc, 'still works fine')).toBe(true);
  });

  it('never runs more than `concurrency` argon2 computations at once', async () => {
    const { implementation, stats } = instrumentedArgon2();
    const hasher = createPasswordHasher({ ...PARAMS, concurrency: 2 }, implementation);
    const phc = await hasher.hash('the stored password');
    const jobs = Array.from({ length: 12 }, (_, i) => {
      if (i % 3 === 0) return hasher.hash(`new password ${i}`);
      if (i % 3 === 1) return hasher.verify(phc, `guess ${i}`);
      return hasher.verifyDummy(`guess ${i}`);
    });
    // All 12 were submitted together; at most 2 may be inside argon2.
    expect(hasher.load()).toEqual({ running: 2, queued: 10 });
    await Promise.all(jobs);
    expect(stats.calls).toBe(13);
    expect(stats.maxInFlight).toBe(2);
    expect(hasher.load()).toEqual({ running: 0, queued: 0 });
  });

  it('serves waiting callers first come, first served', async () => {
    const gate = gatedArgon2();
    const hasher = createPasswordHasher({ ...PARAMS, concurrency: 2 }, gate.implementation);
    const jobs = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => hasher.hash(name));
    await flush();
    expect(gate.started).toEqual(['a', 'b']);
    await gate.releaseOne();
    // A newcomer arriving now must queue behind c..f, not take the free slot.
    const late = hasher.verifyDummy('late');
    await flush();
    expect(gate.started).toEqual(['a', 'b', 'c']);
    while (gate.pending.length > 0) await gate.releaseOne();
    await Promise.all([...jobs, late]);
    expect(gate.started).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'late']);
  });

  it('refuses callers with a distinct error once the queue is full', async () => {
    const gate = gatedArgon2();
    const hasher = createPasswordHasher({ ...PARAMS, concurrency: 1, maxQueue: 2 }, gate.implementation);
    const accepted = [hasher.hash('one'), hasher.verify('$phc', 'two'), hasher.verifyDummy('three')];
    expect(hasher.load()).toEqual({ running: 1, queued: 2 });

    const refused = await Promise.allSettled([
      hasher.hash('four'),
      hasher.verify('$phc', 'five'),
      hasher.verifyDummy('six'),
    ]);
    for (const outcome of refused) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(PasswordHasherBusyError);
    }
    await expect(hasher.hash('seven')).rejects.toMatchObject({ code: 'PASSWORD_HASHER_BUSY' });
    expect(hasher.load()).toEqual({ running: 1, queued: 2 });

    // The refused callers never reached argon2, and the accepted ones all finish.
    while (gate.pending.length > 0) await gate.releaseOne();
    await expect(Promise.all(accepted)).resolves.toEqual(['hash:one', false, false]);
    expect(gate.started).toEqual(['one', 'two', 'three']);

    // Once drained, new callers are accepted again.
    const again = hasher.hash('eight');
    await flush();
    await gate.releaseOne();
    await expect(again).resolves.toBe('hash:eight');
  });
});
