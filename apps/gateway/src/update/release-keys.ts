/**
 * The release keys this build trusts (minisign public keys: the base64 line
 * of each .pub file): the primary, then the backup that a rotation promotes.
 * Empty until the project's first signed release: docs/releasing.md says who
 * generates them and how they get here. Until then `update` verifies only
 * against keys given in openclaw.json (update.publicKeys).
 */
export const PINNED_RELEASE_KEYS: readonly string[] = [];
