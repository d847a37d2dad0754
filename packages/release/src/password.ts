import { stderr, stdin } from 'node:process';

/** A password that could not be read or was refused; the message says why. */
export class PasswordError extends Error {}

/**
 * The secret key's password: from standard input when it is not a terminal
 * (first line; for a new key an optional second line must repeat it, as
 * `printf 'pw\npw\n' | minisign -G` feeds minisign), else typed at a prompt
 * with echo off, twice for a new key.
 */
export async function readPassword(options: { confirm: boolean }): Promise<string> {
  if (!stdin.isTTY) {
    const [first = '', second] = (await readAll()).split('\n').map((line) => line.replace(/\r$/, ''));
    if (options.confirm && second !== undefined && second !== '' && second !== first) {
      throw new PasswordError('The two passwords on standard input differ.');
    }
    return nonEmpty(first);
  }
  const password = await prompt('Password: ');
  if (options.confirm && (await prompt('Password (one more time): ')) !== password) {
    throw new PasswordError('The passwords differ.');
  }
  return nonEmpty(password);
}

function nonEmpty(password: string): string {
  if (password === '')
    throw new PasswordError('An empty password: give one, or use -W for a key without a password.');
  return password;
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** One line typed at the terminal, not echoed. */
function prompt(question: string): Promise<string> {
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(() => resolve(typed));
        if (char === '\u0003') return finish(() => reject(new Error('Interrupted.')));
        if (char === '\u007f') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    const finish = (then: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      then();
    };
    stdin.on('data', onData);
  });
}
