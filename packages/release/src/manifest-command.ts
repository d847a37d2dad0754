import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeSecretKey, isEncrypted, layOutRelease } from '@multiclaw/updater/signing';
import type { CliIo } from './cli.js';
import { readPassword } from './password.js';

/**
 * `multiclaw-release manifest`: lays out one release as the update feed
 * serves it — <out>/<product>/<channel>/manifest.json, each artifact beside
 * it, every file with its .minisig — with the trusted comments the updater
 * demands (product, version, channel, expiry; product, version, platform).
 * Upload the directory as it is (docs/releasing.md).
 */
export async function writeRelease(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      s: { type: 'string' },
      product: { type: 'string' },
      version: { type: 'string' },
      channel: { type: 'string' },
      expires: { type: 'string' },
      out: { type: 'string' },
      artifact: { type: 'string', multiple: true },
    },
  });
  const { s, product, version, channel, expires, out } = values;
  if (!s || !product || !version || !channel || !expires || !out || !values.artifact?.length) {
    throw Object.assign(
      new Error('manifest needs -s, --product, --version, --channel, --expires, --out and --artifact.'),
      {
        code: 'ERR_PARSE_ARGS_USAGE',
      },
    );
  }
  const expiry = new Date(expires);
  if (Number.isNaN(expiry.getTime()))
    throw Object.assign(new Error(`--expires "${expires}" is not a date.`), { code: 'ERR_PARSE_ARGS_USAGE' });

  const secretText = await readFile(s, 'utf8');
  const key = await decodeSecretKey(
    secretText,
    isEncrypted(secretText) ? await readPassword({ confirm: false }) : undefined,
  );
  const artifacts = [];
  for (const entry of values.artifact) {
    const [platform, file] = splitOnce(entry);
    // One directory per platform: the same file may serve several, each with its own signed comment.
    artifacts.push({ platform, name: basename(file), data: await readFile(file) });
  }
  const files = layOutRelease({ product, version, channel, expires: expiry, artifacts, key });
  for (const [path, data] of files) {
    await mkdir(dirname(join(out, path)), { recursive: true });
    await writeFile(join(out, path), data);
  }
  const dir = join(out, product, channel);
  io.out(
    `Wrote ${join(dir, 'manifest.json')} (${artifacts.map((artifact) => artifact.platform).join(', ')}), signed by ${key.publicKey.keyIdHex}.\n`,
  );
  return 0;
}

function splitOnce(entry: string): [string, string] {
  const at = entry.indexOf('=');
  if (at <= 0)
    throw Object.assign(new Error(`--artifact "${entry}" is not PLATFORM=FILE.`), {
      code: 'ERR_PARSE_ARGS_USAGE',
    });
  const platform = entry.slice(0, at);
  if (!/^[a-z0-9]+-[a-z0-9]+$/.test(platform)) {
    throw Object.assign(new Error(`--artifact: "${platform}" is not a platform such as linux-x64.`), {
      code: 'ERR_PARSE_ARGS_USAGE',
    });
  }
  return [platform, entry.slice(at + 1)];
}
