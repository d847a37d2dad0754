import { createCipheriv, createDecipheriv, type KeyObject, randomBytes, randomFillSync } from 'node:crypto';
import { type MessagePlace, type SecretPlace, VaultIntegrityError } from './contract.js';

/**
 * The vault's primitives: AES-256-GCM (Node's crypto) with a fresh random
 * 96-bit nonce per encryption, a 16-byte tag appended to the ciphertext, and
 * AADs that bind each ciphertext to its place and to the key versions that
 * made it. Nothing here touches the database.
 */

/** The only format this code writes and reads (the `format_version` columns). */
export const FORMAT_VERSION = 1;
export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

const SECRET_LABEL = 'multiclaw.secret.v1';
const MESSAGE_LABEL = 'multiclaw.message.v1';
const DATA_KEY_LABEL = 'multiclaw.datakey.v1';

export type Sealed = { ciphertext: Buffer; nonce: Buffer };

/**
 * An unambiguous encoding: a label, then each field as a 4-byte big-endian
 * length followed by its UTF-8 bytes. No field can run into the next.
 */
function encodeAad(label: string, fields: ReadonlyArray<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(label, 'utf8')];
  for (const field of fields) {
    const bytes = Buffer.from(String(field), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

/**
 * AAD of a secret value: format version, workspace id, secret id, and the data
 * and master key versions recorded next to it (so editing a recorded version
 * fails even where it would pick the same key).
 */
export function secretAad(
  place: SecretPlace,
  keys: { formatVersion: number; dataKeyVersion: number; masterKeyVersion: number },
): Buffer {
  return encodeAad(SECRET_LABEL, [
    keys.formatVersion,
    place.workspaceId,
    place.secretId,
    keys.dataKeyVersion,
    keys.masterKeyVersion,
  ]);
}

/**
 * AAD of a transcript message's content: format version, workspace id,
 * conversation id, message id, and the data key version recorded next to it.
 * Its own label, so a secret's ciphertext never opens as a message or back.
 */
export function messageAad(
  place: MessagePlace,
  keys: { formatVersion: number; dataKeyVersion: number },
): Buffer {
  return encodeAad(MESSAGE_LABEL, [
    keys.formatVersion,
    place.workspaceId,
    place.conversationId,
    place.messageId,
    keys.dataKeyVersion,
  ]);
}

/**
 * `messageAad` for many messages of one workspace and data key version: the
 * fields they share are encoded once, and each AAD is written into one
 * allocation. The same bytes as `messageAad` (a test holds them equal).
 */
export function messageAadEncoder(
  workspaceId: string,
  keys: { formatVersion: number; dataKeyVersion: number },
): (conversationId: string, messageId: string) => Buffer {
  const head = encodeAad(MESSAGE_LABEL, [keys.formatVersion, workspaceId]);
  const tail = encodeAad('', [keys.dataKeyVersion]);
  return (conversationId, messageId) => {
    const conversation = Buffer.byteLength(conversationId, 'utf8');
    const message = Buffer.byteLength(messageId, 'utf8');
    const aad = Buffer.allocUnsafe(head.length + 8 + conversation + message + tail.length);
    let at = head.copy(aad, 0);
    at = aad.writeUInt32BE(conversation, at);
    at += aad.write(conversationId, at, 'utf8');
    at = aad.writeUInt32BE(message, at);
    at += aad.write(messageId, at, 'utf8');
    tail.copy(aad, at);
    return aad;
  };
}

/**
 * Nonces for many encryptions: drawn from the CSPRNG in blocks (one call per
 * block instead of one per message, which cost ~15 µs each under load), each
 * 96 bits handed out once. Random nonces either way; GCM's limit on their
 * number per key is kept by the data key's use count.
 */
export function nonceSource(count: number): () => Uint8Array<ArrayBuffer> {
  let block = new Uint8Array(0);
  let next = 0;
  let left = count;
  return () => {
    if (next >= block.length) {
      const n = Math.max(1, Math.min(left, 1024));
      block = new Uint8Array(n * NONCE_BYTES);
      randomFillSync(block);
      next = 0;
    }
    left--;
    const nonce = block.slice(next, next + NONCE_BYTES);
    next += NONCE_BYTES;
    return nonce;
  };
}

/**
 * AES-256-GCM with the given nonce (from `nonceSource`: never one twice);
 * returns ciphertext‖tag in one allocation of its own.
 */
export function encryptWithNonce(
  key: KeyObject | Buffer,
  nonce: Uint8Array,
  plaintext: Buffer,
  aad: Buffer,
): Uint8Array<ArrayBuffer> {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const rest = cipher.final();
  const out = new Uint8Array(body.length + rest.length + TAG_BYTES);
  out.set(body, 0);
  out.set(rest, body.length);
  out.set(cipher.getAuthTag(), body.length + rest.length);
  return out;
}

/** AAD of a wrapped data key: format version, workspace id, data key version, master key version. */
export function dataKeyAad(workspaceId: string, dataKeyVersion: number, masterKeyVersion: number): Buffer {
  return encodeAad(DATA_KEY_LABEL, [FORMAT_VERSION, workspaceId, dataKeyVersion, masterKeyVersion]);
}

/** AES-256-GCM with a fresh random nonce; returns ciphertext‖tag and the nonce. */
export function encrypt(key: KeyObject | Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext, nonce };
}

/** Inverse of `encrypt`; any mismatch (bytes, nonce, tag, AAD, key) throws VaultIntegrityError. */
export function decrypt(
  key: KeyObject | Buffer,
  ciphertext: Uint8Array,
  nonce: Uint8Array,
  aad: Buffer,
  what: string,
): Buffer {
  if (nonce.length !== NONCE_BYTES) throw new VaultIntegrityError(`${what}: nonce has the wrong length`);
  if (ciphertext.length < TAG_BYTES) throw new VaultIntegrityError(`${what}: ciphertext is too short`);
  const body = ciphertext.subarray(0, ciphertext.length - TAG_BYTES);
  const tag = ciphertext.subarray(ciphertext.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new VaultIntegrityError(`${what}: authentication failed`);
  }
}

/** Prisma `Bytes` columns want a `Uint8Array<ArrayBuffer>` (a copy, not a Buffer view). */
export function toBytes(buffer: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buffer);
}
