#!/usr/bin/env node
// The browser tests drive a real Chromium (packages/test-support/src/browser.ts,
// which finds it the same way and fails each browser test file with this same
// line). Checked before `pnpm test` starts, so that a machine without one stops
// at once with one line saying what to do, instead of failing minutes later.
import { existsSync } from 'node:fs';

const chromium = process.env.MULTICLAW_CHROMIUM || '/usr/bin/chromium';
if (process.env.MULTICLAW_SKIP_BROWSER === '1') {
  console.warn('browser tests: skipped (MULTICLAW_SKIP_BROWSER=1)');
} else if (!existsSync(chromium)) {
  console.error(
    `Chromium is needed for the browser tests and ${chromium} does not exist: sudo apt-get install chromium (Debian), or set MULTICLAW_CHROMIUM to a Chromium or Chrome binary, or MULTICLAW_SKIP_BROWSER=1 to skip them`,
  );
  process.exit(1);
} else {
  console.log(`browser tests: ${chromium}`);
}
