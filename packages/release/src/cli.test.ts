import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePublicKey, verifyArtifact, verifyManifest } from '@multiclaw/updater';
import { beforeAll, describe, expect, it } from 'vitest';

/** `multiclaw-release` as a person runs it (node on the bin, passwords on standard input), against Debian's minisign. */
const BIN = fileURLToPath(new URL('../bin/multiclaw-release.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'multiclaw-release-'));
const file = join(dir, 'multiclaw-gateway-1.3.0.mjs');

function release(args: string[], input = '') {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    input,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, HOME: dir },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function minisign(args: string[], input = '') {
  const found = spawnSync('sh', ['-c', 'command -v minisign'], { encoding: 'utf8' }).stdout.trim();
  if (!found)
    throw new Error(
      "Debian's minisign is not installed; the interop tests need it: apt-get install -y minisign",
    );
  const result = spawnSync(found, args, { cwd: dir, input, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  writeFileSync(file, 'console.log("1.3.0");\n');
});

describe('multiclaw-release with Debian minisign as the peer', () => {
  it('keygen writes an encrypted key (password from standard input) that minisign -S uses; verify checks the result', () => {
    const made = release(
      ['keygen', '-p', 'enc.pub', '-s', 'keys/enc.key'],
      'long passphrase\nlong passphrase\n',
    );
    expect(made.status, made.stderr).toBe(0);
    expect(statSync(join(dir, 'keys/enc.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, 'keys/enc.key'), 'utf8')).toMatch(
      /^untrusted comment: minisign encrypted secret key\nRWRTY0Iy/,
    );
    const signed = minisign(
      ['-S', '-s', 'keys/enc.key', '-m', file, '-t', 'signed by minisign'],
      'long passphrase\n',
    );
    expect(signed.status, signed.stderr).toBe(0);
    const verified = release(['verify', '-p', 'enc.pub', '-m', file]);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('Trusted comment: signed by minisign');
    expect(minisign(['-S', '-s', 'keys/enc.key', '-m', file], 'wrong passphrase\n').status).not.toBe(0);
  }, 600_000);

  it('sign with a minisign -G -W key; minisign -V verifies it, and -P takes the base64 key', () => {
    expect(minisign(['-G', '-W', '-p', 'theirs.pub', '-s', 'theirs.key']).status).toBe(0);
    const signed = release([
      'sign',
      '-s',
      'theirs.key',
      '-m',
      file,
      '-x',
      'ours.minisig',
      '-t',
      'signed by us',
    ]);
    expect(signed.status, signed.stderr).toBe(0);
    const checked = minisign(['-V', '-p', 'theirs.pub', '-m', file, '-x', 'ours.minisig']);
    expect(checked.status, checked.stderr).toBe(0);
    expect(checked.stdout).toContain('signed by us');
    const base64 = readFileSync(join(dir, 'theirs.pub'), 'utf8').trim().split('\n')[1] ?? '';
    expect(release(['verify', '-P', base64, '-m', file, '-x', 'ours.minisig']).status).toBe(0);
  });

  it('verify refuses, with the reason, a tampered file, a legacy signature and a missing one', () => {
    expect(release(['keygen', '-W', '-p', 'w.pub', '-s', 'w.key']).status).toBe(0);
    expect(release(['sign', '-s', 'w.key', '-m', file]).status).toBe(0);
    writeFileSync(join(dir, 'changed.mjs'), 'console.log("6.6.6");\n');
    writeFileSync(join(dir, 'changed.mjs.minisig'), readFileSync(`${file}.minisig`));
    const tampered = release(['verify', '-p', 'w.pub', '-m', 'changed.mjs']);
    expect(tampered).toMatchObject({ status: 1 });
    expect(tampered.stderr).toContain('SIGNATURE_INVALID');
    expect(minisign(['-S', '-l', '-s', 'w.key', '-m', file, '-x', 'legacy.minisig']).status).toBe(0);
    expect(release(['verify', '-p', 'w.pub', '-m', file, '-x', 'legacy.minisig']).stderr).toContain(
      'SIGNATURE_LEGACY',
    );
    expect(release(['verify', '-p', 'w.pub', '-m', file, '-x', 'nothing.minisig']).stderr).toContain(
      'SIGNATURE_MISSING',
    );
  });

  it('manifest lays out a release the updater accepts and minisign -V verifies', () => {
    expect(release(['keygen', '-W', '-p', 'rel.pub', '-s', 'rel.key']).status).toBe(0);
    const made = release([
      'manifest',
      '-s',
      'rel.key',
      '--product',
      'gateway',
      '--version',
      '1.3.0',
      '--channel',
      'stable',
      '--expires',
      '2099-01-01T00:00:00Z',
      '--out',
      'feed',
      '--artifact',
      `linux-x64=${file}`,
    ]);
    expect(made.status, made.stderr).toBe(0);
    const channel = join(dir, 'feed/gateway/stable');
    const key = parsePublicKey(readFileSync(join(dir, 'rel.pub'), 'utf8'));
    const verified = verifyManifest(
      readFileSync(join(channel, 'manifest.json')),
      readFileSync(join(channel, 'manifest.json.minisig'), 'utf8'),
      {
        product: 'gateway',
        channel: 'stable',
        platform: 'linux-x64',
        floor: '1.2.0',
        now: new Date(),
        trustedKeys: [key],
      },
    );
    expect(verified.artifact.url).toBe('linux-x64/multiclaw-gateway-1.3.0.mjs');
    const artifact = join(channel, 'linux-x64/multiclaw-gateway-1.3.0.mjs');
    verifyArtifact(readFileSync(artifact), readFileSync(`${artifact}.minisig`, 'utf8'), verified, [key]);
    expect(minisign(['-V', '-p', 'rel.pub', '-m', join(channel, 'manifest.json')]).stdout).toContain(
      'channel=stable expires=2099-01-01T00:00:00.000Z',
    );
    expect(minisign(['-V', '-p', 'rel.pub', '-m', artifact]).status).toBe(0);
  });

  it('exits 64 on usage errors, 73 rather than overwrite a key, 1 on differing passwords; --help is 0', () => {
    expect(release([]).status).toBe(64);
    expect(release(['frobnicate']).status).toBe(64);
    expect(release(['sign', '--nope']).status).toBe(64);
    expect(release(['verify']).status).toBe(64);
    expect(release(['--help'])).toMatchObject({
      status: 0,
      stdout: expect.stringContaining('multiclaw-release keygen'),
    });
    expect(release(['keygen', '-W', '-p', 'w.pub', '-s', 'w.key']).status).toBe(73);
    expect(release(['keygen', '-W', '-f', '-p', 'w.pub', '-s', 'w.key']).status).toBe(0);
    const differ = release(['keygen', '-p', 'x.pub', '-s', 'x.key'], 'one\ntwo\n');
    expect(differ.status).toBe(1);
    expect(differ.stderr).toContain('differ');
  });
});
