/**
 * Every reason the updater refuses a signature, a manifest or an artifact,
 * as data: one code, one class, one sentence. docs/releasing.md lists them
 * (a test keeps the two in step). Nothing here crosses a network boundary:
 * these are read by a person at a terminal or in the desktop's notice.
 */
export const UPDATE_REFUSALS = {
  PUBLIC_KEY_MALFORMED: 'A pinned public key is not a minisign public key.',
  NO_TRUSTED_KEY: 'No release public key is pinned, so nothing can be verified.',
  SIGNATURE_MISSING: 'The signature file is missing or empty.',
  SIGNATURE_MALFORMED: 'The signature file is not in minisign format.',
  SIGNATURE_LEGACY:
    'The signature uses the legacy non-prehashed algorithm (minisign -l); only prehashed ones are accepted.',
  SIGNATURE_UNKNOWN_KEY: 'The signature was made by a key other than the pinned ones.',
  SIGNATURE_INVALID: 'The signature does not match the file: the file or the signature was altered.',
  TRUSTED_COMMENT_INVALID: "The trusted comment's signature does not match: the trusted comment was altered.",
  MANIFEST_MISSING: 'The update feed has no release manifest for this product and channel.',
  MANIFEST_MALFORMED: 'The release manifest is not valid JSON of the expected shape.',
  MANIFEST_COMMENT_MISMATCH:
    "The manifest's trusted comment does not bind the version and channel its body states.",
  MANIFEST_EXPIRED: 'The release manifest has expired: the feed is stale or replaying an old release.',
  MANIFEST_WRONG_CHANNEL: 'The release manifest is for another channel or product.',
  MANIFEST_NO_PLATFORM: 'The release has no artifact for this platform.',
  MANIFEST_NOT_NEWER: 'The release is not newer than the highest version accepted before (anti-rollback).',
  FEED_URL_INSECURE:
    'The update feed or an artifact URL is not https (plain http only to this machine) or not on the feed.',
  ARTIFACT_TOO_LARGE: 'The artifact is larger than the size the manifest states.',
  ARTIFACT_SIZE_MISMATCH: 'The artifact is not the size the manifest states.',
  ARTIFACT_HASH_MISMATCH: "The artifact's SHA-256 is not the one the manifest states.",
  ARTIFACT_COMMENT_MISMATCH:
    "The artifact's trusted comment does not name this product, version and platform.",
  DOWNLOAD_FAILED: 'The update feed answered with an error or the download was cut.',
  START_FAILED: 'The new version failed to start, so the previous version was restored.',
  UPDATE_IN_PROGRESS: 'Another update of this installation is running; try again when it has finished.',
} as const;

export type UpdateRefusalCode = keyof typeof UPDATE_REFUSALS;

/** An update refused for one stated reason; `code` is stable, the message says what to do. */
export class UpdateRefusedError extends Error {
  constructor(
    readonly code: UpdateRefusalCode,
    detail?: string,
  ) {
    super(detail ? `${UPDATE_REFUSALS[code]} ${detail}` : UPDATE_REFUSALS[code]);
    this.name = 'UpdateRefusedError';
  }
}

export function isRefusal(error: unknown, code?: UpdateRefusalCode): error is UpdateRefusedError {
  return error instanceof UpdateRefusedError && (code === undefined || error.code === code);
}

/** MANIFEST_NOT_NEWER, carrying the versions so a check can tell "up to date" (equal) from a rollback (older). */
export class ReleaseNotNewerError extends UpdateRefusedError {
  constructor(
    readonly offered: string,
    readonly floor: string,
  ) {
    super('MANIFEST_NOT_NEWER', `It offers ${offered}; the highest accepted is ${floor}.`);
  }
}
