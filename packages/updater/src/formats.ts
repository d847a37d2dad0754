/**
 * What a config schema needs to validate update settings — the feed URL rule
 * and the public key format — without pulling in the verifier's cryptography
 * (`@multiclaw/updater/formats`: the gateway's openclaw.json schema, which the
 * desktop bundles too).
 */
export { isRefusal, UpdateRefusedError } from './errors.js';
export { parseFeedUrl } from './feed.js';
export { type MinisignPublicKey, parsePublicKey } from './minisign/public-key.js';
