/**
 * Child for the store kill test: `node --import tsx store-appender.ts <storeDir> <sessionKey>`.
 * Opens the store (taking over the lock of a killed predecessor), prints `ready`, then appends one
 * message at a time forever, printing the seq of each append only after it resolved.
 */
import { LocalStore } from '../../src/store/local-store.js';
import { draftFor } from './messages.js';

const [dir, key] = process.argv.slice(2);
if (!dir || !key) {
  process.stderr.write('usage: store-appender.ts <storeDir> <sessionKey>\n');
  process.exit(2);
}
const store = await LocalStore.open(dir, { warn: (message) => process.stderr.write(`${message}\n`) });
let seq = (await store.getSession(key)).messageCount;
process.stdout.write('ready\n');
for (;;) {
  seq += 1;
  const [message] = await store.appendMessages(key, [draftFor(seq)]);
  if (message?.seq !== seq) {
    process.stderr.write(`expected seq ${seq}, got ${message?.seq}\n`);
    process.exit(3);
  }
  process.stdout.write(`${message.seq}\n`);
}
