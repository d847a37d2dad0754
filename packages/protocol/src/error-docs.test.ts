import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderErrorDocs } from './error-docs.js';
import { ERROR_CODES } from './errors.js';

describe('docs/errors.md', () => {
  it('matches what the code table renders (run `pnpm --filter @multiclaw/protocol docs:errors`)', () => {
    const committed = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderErrorDocs());
  });

  it('lists every code', () => {
    const rendered = renderErrorDocs();
    for (const code of Object.keys(ERROR_CODES)) expect(rendered).toContain(`\`${code}\``);
  });
});
