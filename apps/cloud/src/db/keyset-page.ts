import { ApiError, Id, Timestamp } from '@multiclaw/protocol';
import { z } from 'zod';

/**
 * Keyset pagination over (createdAt, id), shared by every list that pages
 * this way. The cursor is the position of the last item returned, opaque to
 * clients; rows created while paging never cause duplicates or gaps.
 */
type Position = { createdAt: Date; id: string };

const CursorPayload = z.tuple([Timestamp, Id]);

export function encodeCursor(row: Position): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  try {
    const [createdAt, id] = CursorPayload.parse(
      JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')),
    );
    return { createdAt: new Date(createdAt), id };
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'The request is invalid', {
      issues: [{ path: 'query.cursor', message: 'Unknown cursor: pass back a nextCursor as given' }],
    });
  }
}

/** The `where` fragment and ordering for the page after `cursor` (fetch `take` rows: one extra tells if more exist). */
export function pageQuery(page: { cursor?: string | undefined; limit: number }) {
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  return {
    where: after
      ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] }
      : {},
    orderBy: [{ createdAt: 'asc' as const }, { id: 'asc' as const }],
    take: page.limit + 1,
  };
}

/** Cuts the extra row off and turns the rest into `{ items, nextCursor }`. */
export function toPage<Row extends Position, Item>(rows: Row[], limit: number, map: (row: Row) => Item) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
