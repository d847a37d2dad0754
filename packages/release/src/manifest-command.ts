import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { artifactTrustedComment, manifestTrustedComment, ReleaseManifest } from '@multiclaw/updater';
import { decodeSecretKey, isEncrypted, signMinisign } from '@multiclaw/updater/signing';
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
  const dir = join(out, product, channel);
  await mkdir(dir, { recursive: true });

  const artifacts: Record<string, { url: string; sha256: string; size: number }> = {};
  for (const entry of values.artifact) {
    const [platform, file] = splitOnce(entry);
    const data = await readFile(file);
    // One directory per platform: the same file may serve several, each with its own signed comment.
    const name = `${platform}/${basename(file)}`;
    await mkdir(join(dir, platform), { recursive: true });
    await copyFile(file, join(dir, name));
    const trustedComment = artifactTrustedComment({ product, version, platform });
    await writeFile(join(dir, `${name}.minisig`), signMinisign(data, key, { trustedComment }));
    artifacts[platform] = {
      url: name,
      sha256: createHash('sha256').update(data).digest('hex'),
      size: data.length,
    };
  }
  // Parsed through the updater's own schema: a release the updater would refuse is never written.
  const manifest = ReleaseManifest.parse({ product, version, channel, artifacts });
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, 'manifest.json'), body);
  const trustedComment = manifestTrustedComment({ product, version, channel, expires: expiry });
  await writeFile(join(dir, 'manifest.json.minisig'), signMinisign(body, key, { trustedComment }));
  io.out(
    `Wrote ${join(dir, 'manifest.json')} (${Object.keys(artifacts).join(', ')}), signed by ${key.publicKey.keyIdHex}.\n`,
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
