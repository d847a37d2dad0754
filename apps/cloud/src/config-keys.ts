import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

/**
 * Key material in the configuration: parsing, and refusing keys that are
 * missing, malformed, the wrong size or known defaults. Messages never echo
 * a key.
 */

export const KEY_BYTES = 32;
export const GENERATE_KEY_HINT = 'generate one with: openssl rand -base64 32';

/** Values from docs and examples that must never guard a real deployment. */
export const KNOWN_DEFAULT_VALUES = new Set([
  'changeme',
  'change-me',
  'replace-me',
  'replace_me',
  'secret',
  'password',
  'default',
  'example',
  'test',
  'postgres',
  'admin',
]);

export function decodeKeyBytes(text: string): Buffer | undefined {
  // Accept standard or URL-safe base64, padded or not; reject anything else.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export function isWeakKey(bytes: Buffer): boolean {
  // All bytes equal (zeros, 0xff…) or a repeated known default.
  if (bytes.every((b) => b === bytes[0])) return true;
  const asText = bytes.toString('latin1').toLowerCase();
  return [...KNOWN_DEFAULT_VALUES].some(
    (word) => asText === word.repeat(Math.ceil(KEY_BYTES / word.length)).slice(0, KEY_BYTES),
  );
}

/** `<id>:<base64 of 32 bytes>` entries, comma separated. */
export function keyList(idPattern: RegExp, idDescription: string) {
  return z.string().transform((raw, ctx) => {
    const entries = raw
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (entries.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `is empty; expected <${idDescription}>:<base64 key>, ${GENERATE_KEY_HINT}`,
      });
      return z.NEVER;
    }
    const keys: { id: string; bytes: Buffer }[] = [];
    for (const [index, entry] of entries.entries()) {
      const separator = entry.indexOf(':');
      const id = separator > 0 ? entry.slice(0, separator) : '';
      const material = separator > 0 ? entry.slice(separator + 1) : '';
      const where = `entry ${index + 1}`;
      if (!idPattern.test(id)) {
        ctx.addIssue({ code: 'custom', message: `${where} must look like <${idDescription}>:<base64 key>` });
        continue;
      }
      if (KNOWN_DEFAULT_VALUES.has(material.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          message: `${where} (${id}) is a known default value; ${GENERATE_KEY_HINT}`,
        });
        continue;
      }
      const bytes = decodeKeyBytes(material);
      if (!bytes) {
        ctx.addIssue({ code: 'custom', message: `${where} (${id}) is not base64; ${GENERATE_KEY_HINT}` });
        continue;
      }
      if (bytes.length !== KEY_BYTES) {
        ctx.addIssue({
          code: 'custom',
          message: `${where} (${id}) is ${bytes.length} bytes; a key must be exactly ${KEY_BYTES} bytes (${GENERATE_KEY_HINT})`,
        });
        continue;
      }
      if (isWeakKey(bytes)) {
        ctx.addIssue({
          code: 'custom',
          message: `${where} (${id}) is a trivially guessable key; ${GENERATE_KEY_HINT}`,
        });
        continue;
      }
      if (keys.some((key) => key.id === id)) {
        ctx.addIssue({ code: 'custom', message: `${where} repeats the id ${id}` });
        continue;
      }
      keys.push({ id, bytes });
    }
    return keys;
  });
}

/** A raw 32-byte Ed25519 seed, wrapped as PKCS#8 DER so Node can load it. */
export function ed25519PrivateKey(seed: Buffer): KeyObject {
  const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' });
}

/**
 * `MULTICLAW_MASTER_KEYS_FILE`: the master keys from a file instead of the
 * environment (same `<version>:<base64>` entries, one per line or comma
 * separated). The file must not be readable by group or others.
 */
export function readMasterKeysFile(path: string): { value?: string; problem?: string } {
  try {
    if ((statSync(path).mode & 0o077) !== 0) {
      return {
        problem: `MULTICLAW_MASTER_KEYS_FILE: ${path} is readable by other users; run: chmod 600 ${path}`,
      };
    }
    const entries = readFileSync(path, 'utf8')
      .split(/[\n,]/)
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    return { value: entries.join(',') };
  } catch (error) {
    return {
      problem: `MULTICLAW_MASTER_KEYS_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
}
