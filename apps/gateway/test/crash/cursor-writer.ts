/**
 * Child for the cursor kill test: `node --import tsx cursor-writer.ts <path> <conversations>`.
 * Opens the cursor log (compacting it when it has grown), prints `ready`, then
 * records acks forever: round r sets every conversation's cursor to r in one
 * append, and prints r only after that append resolved.
 */
import { CursorLog } from '../../src/sync/cursor-log.js';

const [path, count] = process.argv.slice(2);
if (!path || !count) {
  process.stderr.write('usage: cursor-writer.ts <path> <conversations>\n');
  process.exit(2);
}
const ids = Array.from({ length: Number(count) }, (_, index) => `conversation-${index}`);
const log = await CursorLog.open(path, { warn: (message) => process.stderr.write(`${message}\n`) });
let round = Math.max(0, ...ids.map((id) => log.get(id)?.ackedSeq ?? 0));
process.stdout.write('ready\n');
for (;;) {
  round += 1;
  await log.record(
    ids.map((conversationId) => ({ conversationId, ackedSeq: round, state: 'syncing' as const })),
  );
  process.stdout.write(`${round}\n`);
}
