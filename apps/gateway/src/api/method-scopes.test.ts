import { describe, expect, it } from 'vitest';
import { METHOD_SCOPES, missingScope, type ScopedMethod, scopeSatisfied } from './method-scopes.js';

// Written out by hand from OpenClaw 2026.9.6's method table, not read from ours.
const READS = [
  'health',
  'status',
  'agents.list',
  'chat.history',
  'sessions.list',
  'sessions.describe',
  'sessions.get',
];
// Ours (a `multiclaw.` prefix): reading an agent's definition is a read, replacing it is configuration.
// Recordings (docs/extension.md): reading is a read, renaming a write, deleting or putting one into an
// agent's context configuration; pairing the browser extension is OpenClaw's pairing scope.
const OURS = {
  'multiclaw.agents.get': 'operator.read',
  'multiclaw.agents.upsert': 'operator.admin',
  'multiclaw.recordings.list': 'operator.read',
  'multiclaw.recordings.get': 'operator.read',
  'multiclaw.recordings.export': 'operator.read',
  'multiclaw.recordings.rename': 'operator.write',
  'multiclaw.recordings.delete': 'operator.admin',
  'multiclaw.recordings.attach': 'operator.admin',
  'multiclaw.recordings.detach': 'operator.admin',
  'multiclaw.extension.pairingCode': 'operator.pairing',
  'multiclaw.extension.list': 'operator.pairing',
  'multiclaw.extension.unpair': 'operator.pairing',
};
const RUNS = ['agent', 'agent.wait', 'chat.send', 'chat.abort'];
const ADMIN = ['agents.create', 'agents.update', 'agents.delete', 'sessions.delete', 'sessions.reset'];

describe('method scopes', () => {
  it('covers exactly the methods we serve, each with the scope OpenClaw requires', () => {
    expect(Object.keys(METHOD_SCOPES).sort()).toEqual(
      [...READS, ...RUNS, ...ADMIN, ...Object.keys(OURS)].sort(),
    );
    for (const [method, scope] of Object.entries(OURS))
      expect(METHOD_SCOPES[method as ScopedMethod]).toBe(scope);
    for (const method of READS) expect(METHOD_SCOPES[method as ScopedMethod], method).toBe('operator.read');
    for (const method of RUNS) expect(METHOD_SCOPES[method as ScopedMethod], method).toBe('operator.write');
    for (const method of ADMIN) expect(METHOD_SCOPES[method as ScopedMethod], method).toBe('operator.admin');
  });

  it('admin satisfies everything, write satisfies read, nothing else is implied', () => {
    expect(scopeSatisfied('operator.read', ['operator.admin'])).toBe(true);
    expect(scopeSatisfied('operator.write', ['operator.admin'])).toBe(true);
    expect(scopeSatisfied('operator.read', ['operator.write'])).toBe(true);
    expect(scopeSatisfied('operator.write', ['operator.read'])).toBe(false);
    expect(scopeSatisfied('operator.admin', ['operator.read', 'operator.write', 'operator.approvals'])).toBe(
      false,
    );
    expect(scopeSatisfied('operator.read', [])).toBe(false);
    expect(scopeSatisfied('operator.read', ['operator.pairing', 'recordings:write'])).toBe(false);
  });

  it('names the missing scope', () => {
    expect(missingScope('chat.send', ['operator.read'])).toBe('operator.write');
    expect(missingScope('sessions.reset', ['operator.write'])).toBe('operator.admin');
    expect(missingScope('chat.history', ['operator.write'])).toBeUndefined();
  });
});
