#!/usr/bin/env node
// `multiclaw-desktop`. Runs the compiled CLI (dist/, `pnpm --filter @multiclaw/desktop build`)
// when it is current, else the TypeScript source through tsx (@multiclaw/runtime/launcher says how).
// MULTICLAW_DESKTOP_RUN=source or =compiled forces one (tests may pin one).
import { launch } from '@multiclaw/runtime/launcher';

await launch({
  command: 'multiclaw-desktop',
  packageName: '@multiclaw/desktop',
  runVariable: 'MULTICLAW_DESKTOP_RUN',
  root: new URL('..', import.meta.url),
  loadTsx: () => import('tsx/esm/api').catch(() => undefined),
});
