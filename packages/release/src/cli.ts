import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatPublicKey, isRefusal, parsePublicKey, verifyMinisign } from '@multiclaw/updater';
import {
  decodeSecretKey,
  encodeSecretKey,
  generateSecretKey,
  isEncrypted,
  SecretKeyError,
  signMinisign,
} from '@multiclaw/updater/signing';
import { buildGatewayArtifact } from './gateway-artifact.js';
import { writeRelease } from './manifest-command.js';
import { PasswordError, readPassword } from './password.js';
import { SupplyChainError } from './supply-chain/pnpm-report.js';
import { checkLicenses, workspaceRoot, writeSbom } from './supply-chain/supply-chain-command.js';

/** sysexits.h, as the gateway's CLI uses them. */
const EXIT = { OK: 0, FAILED: 1, USAGE: 64, NO_INPUT: 66, CANT_CREATE: 73 } as const;

export const USAGE = `Usage (flags as minisign's):
  multiclaw-release keygen [-f] [-p pubkey_file] [-s seckey_file] [-W]
  multiclaw-release sign [-s seckey_file] [-x sig_file] [-c untrusted_comment] [-t trusted_comment] -m file [file ...]
  multiclaw-release verify [-p pubkey_file | -P pubkey] [-x sig_file] [-q] -m file
  multiclaw-release manifest -s seckey_file --product NAME --version X.Y.Z --channel NAME
                             --expires ISO-8601 --out DIR --artifact PLATFORM=FILE [--artifact ...]
  multiclaw-release gateway-artifact --version X.Y.Z -o FILE   build the gateway's self-contained artifact
  multiclaw-release licenses          check every dependency's licence against the allowlist
  multiclaw-release sbom [-o file]    write the CycloneDX JSON SBOM of pnpm-lock.yaml

  -p  public key file (default ./minisign.pub)     -P  public key, as a base64 string
  -s  secret key file (default ~/.minisign/minisign.key)
  -m  file to sign or verify                       -x  signature file (default <file>.minisig)
  -t  trusted comment (signed)                     -c  untrusted comment
  -W  no password on the secret key                -f  overwrite an existing key pair
  -q  quiet

The password is read from standard input when it is not a terminal (keygen:
the first line, and the second if given must repeat it), else prompted for.
Keys and signatures are minisign's own format: minisign -V verifies ours,
and we verify minisign's. Only prehashed signatures are made or accepted.
See docs/releasing.md.

Exit codes: 0 ok, 1 refused (the reason is printed), 64 usage, 66 missing input, 73 cannot create.`;

const defaultSecretKey = (env: NodeJS.ProcessEnv) =>
  join(env.MINISIGN_CONFIG_DIR || join(env.HOME || homedir(), '.minisign'), 'minisign.key');

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  keygen,
  sign,
  verify,
  manifest: (args, io) => writeRelease(args, io),
  licenses: checkLicenses,
  'gateway-artifact': gatewayArtifact,
  sbom: writeSbom,
};

/** Runs `multiclaw-release <command> …`; resolves with the exit code. */
export async function runRelease(argv: string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    (command ? io.out : io.err)(`${USAGE}\n`);
    return command ? EXIT.OK : EXIT.USAGE;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.err(`Unknown command "${command}".\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  try {
    return await run(args, io);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${(error as Error).message}\n${USAGE}\n`);
      return EXIT.USAGE;
    }
    if (isRefusal(error)) {
      io.err(`Refused (${error.code}): ${error.message}\n`);
      return EXIT.FAILED;
    }
    if (
      error instanceof SecretKeyError ||
      error instanceof PasswordError ||
      error instanceof SupplyChainError
    ) {
      io.err(`${error.message}\n`);
      return EXIT.FAILED;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      io.err(`${(error as Error).message}\n`);
      return EXIT.NO_INPUT;
    }
    if (code === 'EEXIST') {
      io.err(`${(error as NodeJS.ErrnoException).path} already exists; use -f to overwrite it.\n`);
      return EXIT.CANT_CREATE;
    }
    throw error;
  }
}

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>) {
  const parsed = parseArgs({
    args,
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  return parsed.values as Record<string, string | string[] | boolean | undefined>;
}

async function keygen(args: string[], io: CliIo): Promise<number> {
  const values = parse(args, {
    p: { type: 'string' },
    s: { type: 'string' },
    W: { type: 'boolean' },
    f: { type: 'boolean' },
  });
  if (values.help) return help(io);
  const publicPath = (values.p as string | undefined) ?? 'minisign.pub';
  const secretPath = (values.s as string | undefined) ?? defaultSecretKey(io.env);
  const password = values.W ? undefined : await readPassword({ confirm: true });
  const key = generateSecretKey();
  if (password !== undefined)
    io.err('Deriving a key from the password in order to encrypt the secret key...\n');
  const secretText = await encodeSecretKey(key, password);
  const flag = values.f ? 'w' : 'wx';
  await mkdir(dirname(secretPath), { recursive: true, mode: 0o700 });
  await writeFile(secretPath, secretText, { mode: 0o600, flag });
  await writeFile(publicPath, formatPublicKey(key.publicKey), { mode: 0o644, flag });
  io.out(
    `The secret key was saved as ${secretPath} - keep it secret${password ? '' : ' (it has no password)'}.\n` +
      `The public key was saved as ${publicPath} (key id ${key.publicKey.keyIdHex}).\n`,
  );
  return EXIT.OK;
}

async function sign(args: string[], io: CliIo): Promise<number> {
  const values = parse(args, {
    m: { type: 'string', multiple: true },
    s: { type: 'string' },
    x: { type: 'string' },
    t: { type: 'string' },
    c: { type: 'string' },
    W: { type: 'boolean' },
  });
  if (values.help) return help(io);
  const files = (values.m as string[] | undefined) ?? [];
  if (files.length === 0) throw new UsageError('sign needs -m <file>.');
  if (values.x && files.length > 1)
    throw new UsageError('-x names one signature file: sign one file at a time.');
  const secretText = await readFile((values.s as string | undefined) ?? defaultSecretKey(io.env), 'utf8');
  const password = isEncrypted(secretText) ? await readPassword({ confirm: false }) : undefined;
  const key = await decodeSecretKey(secretText, password);
  for (const file of files) {
    const data = await readFile(file);
    const trustedComment =
      (values.t as string | undefined) ??
      `timestamp:${Math.floor(Date.now() / 1000)}\tfile:${basename(file)}\thashed`;
    const signature = signMinisign(data, key, {
      trustedComment,
      untrustedComment: values.c as string | undefined,
    });
    await writeFile((values.x as string | undefined) ?? `${file}.minisig`, signature);
  }
  return EXIT.OK;
}

async function verify(args: string[], io: CliIo): Promise<number> {
  const values = parse(args, {
    m: { type: 'string' },
    p: { type: 'string' },
    P: { type: 'string' },
    x: { type: 'string' },
    q: { type: 'boolean' },
  });
  if (values.help) return help(io);
  const file = values.m as string | undefined;
  if (!file) throw new UsageError('verify needs -m <file>.');
  if (values.p && values.P) throw new UsageError('Give -p or -P, not both.');
  const key = parsePublicKey(
    (values.P as string | undefined) ??
      (await readFile((values.p as string | undefined) ?? 'minisign.pub', 'utf8')),
  );
  const signatureText = await readFile((values.x as string | undefined) ?? `${file}.minisig`, 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    },
  );
  const verified = verifyMinisign(await readFile(file), signatureText, [key]);
  if (!values.q)
    io.out(`Signature and comment signature verified\nTrusted comment: ${verified.trustedComment}\n`);
  return EXIT.OK;
}

async function gatewayArtifact(args: string[], io: CliIo): Promise<number> {
  const values = parse(args, { version: { type: 'string' }, o: { type: 'string' } });
  if (values.help) return help(io);
  const version = values.version as string | undefined;
  const outfile = values.o as string | undefined;
  if (!version || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version) || !outfile) {
    throw new UsageError('gateway-artifact needs --version X.Y.Z and -o FILE.');
  }
  // The gateway built is the one in this package's own workspace, wherever the command runs.
  await buildGatewayArtifact({ root: workspaceRoot(import.meta.dirname), version, outfile });
  io.out(`Wrote ${outfile} (multiclaw-gateway ${version}, self-contained).\n`);
  return EXIT.OK;
}

function help(io: CliIo): number {
  io.out(`${USAGE}\n`);
  return EXIT.OK;
}

export { EXIT, readPassword, UsageError };
