/**
 * Child for the config-write kill test (src/config/config-write.crash.test.ts): `node --import tsx config-writer.ts <target> <a.json> <b.json> <mode>`.
 * Rewrites <target> in a tight loop, alternating the texts of a.json and b.json, until it is killed.
 * mode `atomic` uses writeFileAtomic; mode `in-place` uses a plain truncating fs.writeFile (the control).
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { writeFileAtomic } from '@multiclaw/runtime/atomic-write';

const [target, aPath, bPath, mode] = process.argv.slice(2);
if (!target || !aPath || !bPath || (mode !== 'atomic' && mode !== 'in-place')) {
  process.stderr.write('usage: config-writer.ts <target> <a.json> <b.json> atomic|in-place\n');
  process.exit(2);
}
const texts = [readFileSync(bPath, 'utf8'), readFileSync(aPath, 'utf8')] as const;
process.stdout.write('ready\n');
for (let index = 0; ; index++) {
  const text = texts[index % 2] as string;
  if (mode === 'atomic') await writeFileAtomic(target, text);
  else await writeFile(target, text, { mode: 0o600 });
}
