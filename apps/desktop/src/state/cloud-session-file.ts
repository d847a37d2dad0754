import { rm } from 'node:fs/promises';
import { User } from '@multiclaw/protocol';
import { writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import { readJsonFile } from '@multiclaw/runtime/json-file';
import { z } from 'zod';

/**
 * What outlives the host of a cloud session: the refresh token (rotated on
 * every use), the cloud it belongs to and who it signs in. 0600 in the 0700
 * state directory, written atomically; the access token is never written.
 */
export const StoredCloudSession = z.strictObject({
  version: z.literal(1),
  cloudUrl: z.string(),
  refreshToken: z.string().min(1).max(512),
  user: User,
});
export type StoredCloudSession = z.infer<typeof StoredCloudSession>;

export class CloudSessionFile {
  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void,
  ) {}

  /** The stored session; none when the file is missing or not valid (reported, then ignored). */
  async read(): Promise<StoredCloudSession | undefined> {
    const read = await readJsonFile(this.path, StoredCloudSession);
    if (read.state === 'ok') return read.value;
    if (read.state === 'missing') return undefined;
    this.warn(`${this.path} is not a valid cloud session; sign in again`);
    return undefined;
  }

  async write(session: StoredCloudSession): Promise<void> {
    await writePrivateFileAtomic(this.path, `${JSON.stringify(session)}\n`);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
