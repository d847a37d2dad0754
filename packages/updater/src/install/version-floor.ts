import { writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import { readJsonFile } from '@multiclaw/runtime/json-file';
import semver from 'semver';
import { z } from 'zod';
import { Semver } from '../manifest/manifest.js';

/**
 * Anti-rollback: the highest version this installation has ever accepted,
 * kept in a 0600 file (0700 directory) written atomically. A release is
 * accepted only when it is newer than both this and the running version, so
 * a feed replaying an older, genuinely signed release is refused even after
 * the running version was changed by other means.
 */
const FloorFile = z.strictObject({ highestAccepted: Semver });

export interface VersionFloor {
  /** The version a release must exceed: the higher of the running one and the recorded one. */
  read(runningVersion: string): Promise<string>;
  raise(version: string): Promise<void>;
}

export function versionFloorFile(path: string): VersionFloor {
  async function recorded(): Promise<string | undefined> {
    const read = await readJsonFile(path, FloorFile);
    if (read.state === 'missing') return undefined;
    // A damaged floor must not become "no floor": refuse to guess, tell the person.
    if (read.state === 'damaged')
      throw new Error(`${path} is damaged; restore it or delete it to accept any newer release`);
    return read.value.highestAccepted;
  }
  return {
    async read(runningVersion) {
      const highest = await recorded();
      return highest && semver.gt(highest, runningVersion) ? highest : runningVersion;
    },
    async raise(version) {
      const highest = await recorded();
      if (highest && !semver.gt(version, highest)) return;
      await writePrivateFileAtomic(path, `${JSON.stringify({ highestAccepted: version })}\n`);
    },
  };
}
