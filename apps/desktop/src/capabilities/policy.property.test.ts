import { DESKTOP_COMMANDS } from '@multiclaw/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoadedCapability } from './capability-file.js';
import { CapabilityPolicy } from './policy.js';

const WINDOWS = ['main', 'chat', 'settings'];
const GROUPS = [...new Set(DESKTOP_COMMANDS.map((command) => `${command.split('.')[0]}.*`))];
const pattern = fc.constantFrom(...DESKTOP_COMMANDS, ...GROUPS);
const capabilityArb = fc.record({
  windows: fc.uniqueArray(fc.constantFrom(...WINDOWS), { minLength: 1 }),
  allow: fc.array(pattern, { maxLength: 6 }),
  deny: fc.array(pattern, { maxLength: 3 }),
});
const capabilitiesArb = fc.array(capabilityArb, { minLength: 1, maxLength: 5 }).map((list) =>
  list.map(
    (entry, index): LoadedCapability => ({
      identifier: `c${index}`,
      description: 'generated',
      windows: entry.windows,
      commands: { allow: entry.allow, deny: entry.deny },
      file: `c${index}.json`,
    }),
  ),
);
const names = (patterns: string[]) =>
  DESKTOP_COMMANDS.filter((command) =>
    patterns.some((p) => p === command || (p.endsWith('.*') && command.startsWith(p.slice(0, -1)))),
  );
const allowedSet = (policy: CapabilityPolicy, window: string) =>
  DESKTOP_COMMANDS.filter((command) => policy.decide(window, command).allowed);

describe('capability policy, over generated capability sets', () => {
  it('allows a command exactly when a capability of the window allows it and none of them denies it', () => {
    fc.assert(
      fc.property(capabilitiesArb, (capabilities) => {
        const policy = CapabilityPolicy.from(capabilities, DESKTOP_COMMANDS);
        for (const window of WINDOWS) {
          const mine = capabilities.filter((capability) => capability.windows.includes(window));
          const allowed = new Set(names(mine.flatMap((capability) => capability.commands.allow)));
          for (const denied of names(mine.flatMap((capability) => capability.commands.deny)))
            allowed.delete(denied);
          expect(allowedSet(policy, window).sort()).toEqual([...allowed].sort());
        }
      }),
    );
  });

  it('a further capability that only denies never grants, and one for another window changes nothing here', () => {
    fc.assert(
      fc.property(capabilitiesArb, capabilityArb, (capabilities, extra) => {
        const before = CapabilityPolicy.from(capabilities, DESKTOP_COMMANDS);
        const denyOnly: LoadedCapability = {
          identifier: 'extra',
          description: 'generated',
          windows: extra.windows,
          commands: { allow: [], deny: extra.deny },
          file: 'extra.json',
        };
        const after = CapabilityPolicy.from([...capabilities, denyOnly], DESKTOP_COMMANDS);
        for (const window of WINDOWS) {
          const was = new Set(allowedSet(before, window));
          for (const command of allowedSet(after, window)) expect(was.has(command)).toBe(true);
          if (!extra.windows.includes(window))
            expect(allowedSet(after, window)).toEqual(allowedSet(before, window));
        }
      }),
    );
  });

  it('never allows a name the host does not have', () => {
    fc.assert(
      fc.property(capabilitiesArb, fc.string({ maxLength: 40 }), (capabilities, name) => {
        fc.pre(!(DESKTOP_COMMANDS as readonly string[]).includes(name));
        const policy = CapabilityPolicy.from(capabilities, DESKTOP_COMMANDS);
        for (const window of WINDOWS) expect(policy.decide(window, name).allowed).toBe(false);
      }),
    );
  });
});
