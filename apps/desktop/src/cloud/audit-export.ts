import { join } from 'node:path';
import { AuditLogEntry, MAX_PAGE_SIZE, Page } from '@multiclaw/protocol';
import { writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import type { CloudSession } from './cloud-session.js';

export interface AuditExportDeps {
  session: Pick<CloudSession, 'request'>;
  /** Where exports are saved: `exports/` in the desktop's state directory (made 0700). */
  exportDir: string;
  now?: () => Date;
}

export interface AuditExportRequest {
  workspaceId: string;
  format: 'csv' | 'json';
  from?: string | undefined;
  to?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
}

/**
 * The `audit.export` command: every entry of the workspace's audit log that
 * matches the filters (all pages, newest first, as the cloud lists them),
 * saved as one private (0600) file, written whole or not at all. The cloud
 * decides who may read the log; its refusal comes back unchanged.
 */
export async function exportAuditLog(
  deps: AuditExportDeps,
  request: AuditExportRequest,
): Promise<{ path: string; entries: number }> {
  const entries = await allEntries(deps.session, request);
  const contents = request.format === 'csv' ? auditCsv(entries) : `${JSON.stringify(entries, null, 2)}\n`;
  const stamp = (deps.now?.() ?? new Date()).toISOString().replace(/[-:]/g, '').replace('.', '-');
  const path = join(deps.exportDir, `audit-${request.workspaceId}-${stamp}.${request.format}`);
  await writePrivateFileAtomic(path, contents);
  return { path, entries: entries.length };
}

async function allEntries(
  session: AuditExportDeps['session'],
  { workspaceId, from, to, actor, action }: AuditExportRequest,
): Promise<AuditLogEntry[]> {
  const entries: AuditLogEntry[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const answer = await session.request('GET', `/v1/workspaces/${encodeURIComponent(workspaceId)}/audit`, {
      query: { from, to, actor, action, cursor, limit: MAX_PAGE_SIZE },
    });
    const page = Page(AuditLogEntry).parse(answer.body);
    entries.push(...page.items);
    // A cursor seen before would walk the same pages forever: stop at the first repeat.
    cursor = page.nextCursor && !seen.has(page.nextCursor) ? page.nextCursor : undefined;
    if (cursor) seen.add(cursor);
  } while (cursor);
  return entries;
}

const COLUMNS = [
  ['seq', (entry) => entry.seq],
  ['id', (entry) => entry.id],
  ['createdAt', (entry) => entry.createdAt],
  ['actorKind', (entry) => entry.actorKind],
  ['actorId', (entry) => entry.actorId],
  ['action', (entry) => entry.action],
  ['targetType', (entry) => entry.targetType],
  ['targetId', (entry) => entry.targetId],
  ['ip', (entry) => entry.ip],
  ['userAgent', (entry) => entry.userAgent],
] as const satisfies ReadonlyArray<readonly [string, (entry: AuditLogEntry) => unknown]>;
const CHAIN = [
  ['prevHash', (entry: AuditLogEntry) => entry.prevHash],
  ['hash', (entry: AuditLogEntry) => entry.hash],
] as const;

/**
 * The entries as CSV (RFC 4180, CRLF line ends) with a header row: the
 * fixed fields, one `metadata.<key>` column per metadata key any entry has
 * (sorted), then the hash chain. Cells are safe to open in a spreadsheet.
 */
export function auditCsv(entries: readonly AuditLogEntry[]): string {
  const keys = [...new Set(entries.flatMap((entry) => Object.keys(entry.metadata ?? {})))].sort();
  const header = [
    ...COLUMNS.map(([name]) => name),
    ...keys.map((key) => `metadata.${key}`),
    'prevHash',
    'hash',
  ];
  const rows = entries.map((entry) => [
    ...COLUMNS.map(([, value]) => value(entry)),
    ...keys.map((key) => (entry.metadata && Object.hasOwn(entry.metadata, key) ? entry.metadata[key] : null)),
    ...CHAIN.map(([, value]) => value(entry)),
  ]);
  return [header, ...rows].map((row) => `${row.map(csvCell).join(',')}\r\n`).join('');
}

/** Characters that make a spreadsheet read a cell as a formula (OWASP's list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell. Text that a spreadsheet would run as a formula gets a
 * leading `'` (CSV injection); text with a comma, quote or line break is
 * quoted, its quotes doubled. Numbers and booleans are written as they are;
 * null is an empty cell; anything else is its JSON.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
