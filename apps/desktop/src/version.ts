import { readFileSync } from 'node:fs';

/** The desktop's version, from its package.json. */
export const DESKTOP_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The desktop as its crash reports name it. */
export const DESKTOP_PROGRAM = { command: 'multiclaw-desktop', version: DESKTOP_VERSION } as const;
