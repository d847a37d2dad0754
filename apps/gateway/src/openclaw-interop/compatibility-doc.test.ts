import { readFileSync } from 'node:fs';
import { GATEWAY_EVENTS, GATEWAY_METHODS } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';

/**
 * docs/openclaw-compatibility.md says which of OpenClaw's methods we implement
 * and which not; this keeps it equal to the code and to OpenClaw's own list.
 */
const doc = readFileSync(new URL('../../../../docs/openclaw-compatibility.md', import.meta.url), 'utf8');
const openClaw = JSON.parse(
  readFileSync(new URL('../../test/fixtures/openclaw-protocol-v4/hello-ok.json', import.meta.url), 'utf8'),
) as { features: { methods: string[]; events: string[] } };

/** The backticked names in one `## …` section of the document (only its list items, with `items`). */
function namesIn(heading: string, options: { items?: boolean } = {}): string[] {
  const start = doc.indexOf(`\n## ${heading}`);
  if (start === -1) throw new Error(`no section "${heading}"`);
  const end = doc.indexOf('\n## ', start + 1);
  let section = doc.slice(start, end === -1 ? undefined : end);
  if (options.items)
    section = section
      .split('\n')
      .filter((line) => line.startsWith('- '))
      .join('\n');
  return [...section.matchAll(/`([A-Za-z0-9._-]+)`/g)].map((match) => match[1] as string);
}

describe('docs/openclaw-compatibility.md', () => {
  it("lists exactly OpenClaw's methods that we do not implement", () => {
    const notImplemented = namesIn('Not implemented', { items: true });
    const expected = openClaw.features.methods.filter((method) => !GATEWAY_METHODS.includes(method as never));
    expect(notImplemented.sort()).toEqual(expected.sort());
    expect(doc).toContain(`## Not implemented (${expected.length} of OpenClaw's methods)`);
  });

  it('names every method and event we serve under Implemented', () => {
    const implemented = namesIn('Implemented');
    for (const method of GATEWAY_METHODS) expect(implemented, method).toContain(method);
    for (const event of GATEWAY_EVENTS) expect(implemented, event).toContain(event);
  });
});
