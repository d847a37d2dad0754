import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UPDATE_REFUSALS } from './errors.js';

/** docs/releasing.md lists every refusal code the updater can give, and no other. */
describe('docs/releasing.md', () => {
  it('has a row for each refusal code and none for a code that does not exist', () => {
    const doc = readFileSync(new URL('../../../docs/releasing.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` *\|/gm)].map((match) => match[1]);
    expect(documented.length).toBeGreaterThan(10);
    expect([...documented].sort()).toEqual(Object.keys(UPDATE_REFUSALS).sort());
  });
});
