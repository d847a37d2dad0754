import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * One secret per window per launch: 256 random bits, base64url, handed to the
 * window in its URL's fragment (never sent to a server by a browser) and
 * presented back in `x-multiclaw-secret`. Held in memory only.
 */
export class WindowSecrets {
  private readonly byWindow = new Map<string, Buffer>();
  private readonly texts = new Map<string, string>();

  constructor(windows: readonly string[]) {
    for (const window of windows) {
      const secret = randomBytes(32).toString('base64url');
      this.texts.set(window, secret);
      this.byWindow.set(window, digest(secret));
    }
  }

  /** The secret to put in `window`'s URL. */
  secretOf(window: string): string {
    const secret = this.texts.get(window);
    if (secret === undefined) throw new Error(`no window "${window}" is named by a capability file`);
    return secret;
  }

  /** The window a presented secret belongs to; compared in constant time against every window's. */
  windowOf(presented: string | undefined): string | undefined {
    if (presented === undefined || presented.length === 0 || presented.length > 256) return undefined;
    const candidate = digest(presented);
    let found: string | undefined;
    for (const [window, expected] of this.byWindow) {
      if (timingSafeEqual(candidate, expected)) found = window;
    }
    return found;
  }
}

// Hashing first makes the lengths equal, so the comparison leaks nothing through timing.
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
