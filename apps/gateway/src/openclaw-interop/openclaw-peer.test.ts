import { beforeAll, describe, expect, it } from 'vitest';
import {
  ensureOpenClaw,
  OPENCLAW_VERSION,
  type OpenClawPeer,
  openclaw,
} from '../../test/support/openclaw-peer.js';

/**
 * OpenClaw's own CLI is the peer of the interoperability suite (issue: speak
 * OpenClaw's gateway protocol v4). First: the peer itself installs from the
 * registry into the cache and runs, so a broken install fails here, loudly.
 */
describe('OpenClaw as a test peer', () => {
  let peer: OpenClawPeer;
  // A first install downloads ~650 MB; later runs reuse the cache.
  beforeAll(async () => {
    peer = await ensureOpenClaw();
  }, 900_000);

  it(`runs OpenClaw ${OPENCLAW_VERSION} on Node 24`, async () => {
    const version = await openclaw(peer, ['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toContain(`OpenClaw ${OPENCLAW_VERSION}`);
  }, 120_000);
});
