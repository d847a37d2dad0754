import { z } from 'zod';

/** Every entity id is a UUID. */
export const Id = z.uuid();
export type Id = z.infer<typeof Id>;

/** Times cross the wire as ISO 8601 strings in UTC (`Z` suffix, no offsets). */
export const Timestamp = z.iso.datetime();
export type Timestamp = z.infer<typeof Timestamp>;
