import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditLogEntry, ErrorEnvelope } from '@multiclaw/protocol';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';
import { registerPerson } from '../../test/e2e/team-harness.js';
import { startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';
import { csvCell } from './audit-export.js';

/**
 * `audit.export` against a real cloud: every page of the log, with the
 * filters, saved as a private file in the state directory's exports/. A
 * workspace name made to break a CSV file (comma, quote, line break) and to
 * run as a formula in a spreadsheet comes back intact and inert. A member's
 * host is refused by the cloud and saves nothing.
 */
const NASTY = '=HYPERLINK("http://evil.example/?q=1","a, b")\nsecond line';
let cloud: TestCloud;
let t: TestDesktop;

beforeAll(async () => {
  cloud = await startTestCloud();
  t = await startTestDesktop({ gateway: false });
}, 120_000);
afterAll(async () => {
  await t?.close();
  await cloud?.drop();
}, 60_000);

/** An independent reading of RFC 4180: rows of cells, quoted cells unquoted. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += char;
  }
  expect(cell).toBe('');
  expect(row).toEqual([]);
  return rows;
}

/** The whole log as the cloud lists it to its owner, walked page by page over the API. */
async function cloudLog(token: string, workspaceId: string, query = ''): Promise<AuditLogEntry[]> {
  const call = jsonCaller(cloud.url);
  const all: AuditLogEntry[] = [];
  let cursor: string | null = null;
  do {
    const suffix: string = `${query}${cursor ? `&cursor=${cursor}` : ''}`;
    const page: { items: AuditLogEntry[]; nextCursor: string | null } = await call(
      'GET',
      `/v1/workspaces/${workspaceId}/audit?limit=7${suffix}`,
      token,
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

describe('csvCell', () => {
  it('neutralises every formula-leading character and quotes what CSV needs quoted', () => {
    expect(csvCell('=1+2')).toBe("'=1+2");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(null)).toBe('');
  });
});

describe('audit.export', () => {
  it('saves every matching entry, over several pages, as a 0600 CSV or JSON file under exports/', async () => {
    const owner = await registerPerson(cloud, 'auditor');
    expect((await t.call('settings.update', { cloudUrl: cloud.url })).status).toBe(200);
    expect((await t.call('account.signIn', { email: owner.email, password: owner.password })).status).toBe(
      200,
    );
    const created = await t.call('workspaces.create', { name: 'Ledger' });
    const workspaceId = (created.body as { id: string }).id;
    // More renames than one page of the host's walk holds (100), the nasty name among them.
    const started = new Date().toISOString();
    for (let i = 0; i < 104; i++) {
      const renamed = await t.call('workspaces.rename', { workspaceId, name: `Ledger ${i}` });
      expect(renamed.status).toBe(200);
    }
    expect((await t.call('workspaces.rename', { workspaceId, name: NASTY })).status).toBe(200);
    const log = await cloudLog(owner.token, workspaceId);
    expect(log.length).toBeGreaterThan(105);

    const csv = await t.call('audit.export', { workspaceId, format: 'csv' });
    expect(csv.status, JSON.stringify(csv.body)).toBe(200);
    const { path, entries } = csv.body as { path: string; entries: number };
    expect(entries).toBe(log.length);
    expect(path.startsWith(join(t.desktop.paths.stateDir, 'exports'))).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(t.desktop.paths.stateDir, 'exports'))).mode & 0o777).toBe(0o700);
    const text = await readFile(path, 'utf8');
    const [header = [], ...rows] = parseCsv(text);
    expect(header.slice(0, 6)).toEqual(['seq', 'id', 'createdAt', 'actorKind', 'actorId', 'action']);
    expect(header).toContain('metadata.name');
    expect(rows.map((row) => Number(row[0]))).toEqual(log.map((entry) => entry.seq));
    expect(rows.map((row) => row[1])).toEqual(log.map((entry) => entry.id));
    expect(rows.map((row) => row[5])).toEqual(log.map((entry) => entry.action));
    expect(rows.every((row) => row.length === header.length)).toBe(true);
    // The nasty name: whole (comma, quotes and line break kept in one cell), and inert.
    const nameAt = header.indexOf('metadata.name');
    const nasty = rows.find((row) => row[nameAt]?.includes('HYPERLINK'));
    expect(nasty?.[nameAt]).toBe(`'${NASTY}`);
    expect(text).not.toMatch(/(^|,)=HYPERLINK/m);
    expect(rows.at(-1)?.[header.indexOf('hash')]).toBe(log.at(-1)?.hash);

    // Filters: the renames since the start, as JSON; the cloud's own filtered walk says which.
    const filtered = await t.call('audit.export', {
      workspaceId,
      format: 'json',
      action: 'workspace.renamed',
      from: started,
      actor: owner.id,
    });
    expect(filtered.status, JSON.stringify(filtered.body)).toBe(200);
    const saved = filtered.body as { path: string; entries: number };
    const json = JSON.parse(await readFile(saved.path, 'utf8')) as AuditLogEntry[];
    expect(json.map((entry) => entry.id)).toEqual(
      (await cloudLog(owner.token, workspaceId, `&action=workspace.renamed&from=${started}`)).map(
        (entry) => entry.id,
      ),
    );
    expect(json).toHaveLength(105);
    expect(saved.entries).toBe(105);
    expect(json[0]?.metadata).toEqual({ name: NASTY });
    expect((await stat(saved.path)).mode & 0o777).toBe(0o600);

    // Another person as actor: nothing matches, an empty file with its header only.
    const stranger = await registerPerson(cloud, 'stranger');
    const none = await t.call('audit.export', { workspaceId, format: 'csv', actor: stranger.id });
    expect(none.body).toMatchObject({ entries: 0 });
    expect(parseCsv(await readFile((none.body as { path: string }).path, 'utf8'))).toHaveLength(1);

    // A member's host: the cloud refuses (owner only), the envelope says so, no file is written.
    const invited = await jsonCaller(cloud.url)<{ token: string }>(
      'POST',
      `/v1/workspaces/${workspaceId}/invitations`,
      owner.token,
      { email: stranger.email, role: 'member' },
    );
    await jsonCaller(cloud.url)('POST', '/v1/invitations/accept', stranger.token, { token: invited.token });
    const before = await readdir(join(t.desktop.paths.stateDir, 'exports'));
    expect((await t.call('account.signOut')).status).toBe(200);
    expect(
      (await t.call('account.signIn', { email: stranger.email, password: stranger.password })).status,
    ).toBe(200);
    for (const format of ['csv', 'json'] as const) {
      const refused = await t.call('audit.export', { workspaceId, format });
      expect([403, 404]).toContain(refused.status);
      expect((refused.body as ErrorEnvelope).error.code).toMatch(/^(FORBIDDEN|NOT_FOUND)$/);
    }
    expect(await readdir(join(t.desktop.paths.stateDir, 'exports'))).toEqual(before);
  }, 240_000);
});
