import { z } from 'zod';

/**
 * Every entity id is a UUID, with exactly one spelling: accepted in any case,
 * lower-cased at the boundary. Vault AADs, the audit hash chain and advisory
 * locks are keyed by the id's text, so a second spelling would split them.
 */
export const Id = z.uuid().toLowerCase();
export type Id = z.infer<typeof Id>;

/** The range of times a request may name: what PostgreSQL and every client can represent. */
export const EARLIEST_TIME = '1970-01-01T00:00:00.000Z';
export const LATEST_TIME = '9999-12-31T23:59:59.999Z';

/** Times cross the wire as ISO 8601 strings in UTC (`Z` suffix, no offsets), from 1970 to 9999. */
export const Timestamp = z.iso.datetime().refine((value) => {
  const time = Date.parse(value);
  return time >= Date.parse(EARLIEST_TIME) && time <= Date.parse(LATEST_TIME);
}, `must be between ${EARLIEST_TIME} and ${LATEST_TIME}`);
export type Timestamp = z.infer<typeof Timestamp>;
