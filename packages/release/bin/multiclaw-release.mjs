#!/usr/bin/env node
// `multiclaw-release` (docs/releasing.md): runs the TypeScript source through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { runRelease } = await import('../src/cli.ts');
const code = await runRelease(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
process.exitCode = code;
