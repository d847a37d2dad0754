import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Id, Timestamp } from '@multiclaw/protocol';
import { ensurePrivateDir, writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import { readJsonFile } from '@multiclaw/runtime/json-file';
import { z } from 'zod';

/**
 * The gateway's device identity and link state, in `<state dir>/identity/`
 * (0700): `device-key.pem`, the Ed25519 private key (PKCS#8, 0600), which
 * never leaves the machine, and `link.json` (0600), which cloud and workspace
 * the key is enrolled with. Kept apart from `openclaw.json` on purpose: the
 * config is edited by hand and by tools, the identity only by `link`/`unlink`.
 * `link.json` is written last, so its presence means a complete identity.
 */
export const LinkStateFile = z.strictObject({
  version: z.literal(1),
  cloudUrl: z.url({ protocol: /^https?$/ }),
  gatewayId: Id,
  workspaceId: Id,
  name: z.string().optional(),
  linkedAt: Timestamp,
  /** Set when the cloud revoked this gateway (or its owner left the workspace): it does not reconnect. */
  revokedAt: Timestamp.optional(),
  revokedReason: z.string().optional(),
});
export type LinkStateFile = z.infer<typeof LinkStateFile>;

export interface IdentityPaths {
  dir: string;
  keyPath: string;
  statePath: string;
}

export function identityPaths(stateDir: string): IdentityPaths {
  const dir = join(stateDir, 'identity');
  return { dir, keyPath: join(dir, 'device-key.pem'), statePath: join(dir, 'link.json') };
}

/** A fresh key pair, in memory only; `rawPublicKey` is what enrollment sends (32 bytes, base64url). */
export function generateDeviceKey(): { privateKey: KeyObject; rawPublicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  if (!x) throw new Error('Ed25519 public key without x');
  return { privateKey, rawPublicKey: x };
}

/** Writes the key, then the state (its presence completes the identity), each 0600 in the 0700 directory. */
export async function saveIdentity(
  paths: IdentityPaths,
  privateKey: KeyObject,
  state: LinkStateFile,
): Promise<void> {
  await ensurePrivateDir(paths.dir);
  await writePrivateFileAtomic(paths.keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  await saveLinkState(paths, state);
}

export async function saveLinkState(paths: IdentityPaths, state: LinkStateFile): Promise<void> {
  await writePrivateFileAtomic(paths.statePath, `${JSON.stringify(LinkStateFile.parse(state), null, 2)}\n`);
}

export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

/** The link state, or undefined when the gateway is not linked. A damaged file is an IdentityError naming it. */
export async function readLinkState(paths: IdentityPaths): Promise<LinkStateFile | undefined> {
  const read = await readJsonFile(paths.statePath, LinkStateFile);
  if (read.state === 'ok') return read.value;
  if (read.state === 'missing') return undefined;
  throw new IdentityError(
    read.reason === 'json'
      ? `${paths.statePath} is not valid JSON; run "multiclaw-gateway unlink", then link again`
      : `${paths.statePath} is not a link state this gateway understands (${read.issue}); run "multiclaw-gateway unlink", then link again`,
  );
}

/**
 * The private key. Permissions looser than 0600 are repaired with a warning
 * (the config file gets the same treatment); a missing or foreign key is an
 * IdentityError.
 */
export async function readDeviceKey(
  paths: IdentityPaths,
  warn: (message: string) => void,
): Promise<KeyObject> {
  const info = await stat(paths.keyPath).catch(() => undefined);
  if (!info)
    throw new IdentityError(
      `the device key ${paths.keyPath} is missing; run "multiclaw-gateway unlink", then link again`,
    );
  if ((info.mode & 0o077) !== 0) {
    warn(`${paths.keyPath} was readable by others (mode ${(info.mode & 0o777).toString(8)}); made it 0600`);
    await chmod(paths.keyPath, 0o600);
  }
  const key = createPrivateKey(await readFile(paths.keyPath, 'utf8'));
  if (key.asymmetricKeyType !== 'ed25519')
    throw new IdentityError(`${paths.keyPath} is not an Ed25519 private key`);
  return key;
}

/** Forgets the link: the state first (so a running gateway stops at once), then the key. */
export async function deleteIdentity(paths: IdentityPaths): Promise<void> {
  await rm(paths.statePath, { force: true });
  await rm(paths.keyPath, { force: true });
}

/** A signature that changes whenever `link.json` is replaced or removed (what a running gateway polls). */
export async function linkStateSignature(paths: IdentityPaths): Promise<string> {
  const info = await stat(paths.statePath, { bigint: true }).catch(() => undefined);
  return info ? `${info.ino}:${info.size}:${info.mtimeNs}` : 'missing';
}
