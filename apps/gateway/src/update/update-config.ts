import { isRefusal, parseFeedUrl, parsePublicKey } from '@multiclaw/updater/formats';
import { z } from 'zod';

const refusesWith = (check: (value: string) => unknown) => (value: string) => {
  try {
    check(value);
    return true;
  } catch (error) {
    if (isRefusal(error)) return false;
    throw error;
  }
};

/**
 * `update` in openclaw.json (docs/releasing.md). Nothing is contacted because
 * of it: the feed is reached only when the person runs `update check` or
 * `update apply` (or clicks the desktop's button).
 */
export const UpdateConfig = z.strictObject({
  /** The update feed's base URL: https, or plain http to this machine only (a development feed). */
  feed: z
    .string()
    .refine(refusesWith(parseFeedUrl), 'an https URL (plain http only to 127.0.0.1, ::1 or localhost)'),
  channel: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a channel name such as "stable"')
    .default('stable'),
  /**
   * minisign public keys (the .pub file's base64 line) that replace the ones
   * this build pins: for people who build and sign their own releases. At most
   * a primary and a backup.
   */
  publicKeys: z
    .array(
      z.string().refine(refusesWith(parsePublicKey), 'a minisign public key (the RW… line of a .pub file)'),
    )
    .min(1)
    .max(2)
    .optional(),
});
export type UpdateConfig = z.infer<typeof UpdateConfig>;
