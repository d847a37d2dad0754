/**
 * Child that holds a store open: `node --import tsx store-holder.ts <storeDir>`.
 * Prints `ready` once LocalStore.open succeeded, then stays alive until killed.
 */
import { LocalStore } from '../../src/store/local-store.js';

const [dir] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: store-holder.ts <storeDir>\n');
  process.exit(2);
}
await LocalStore.open(dir, { warn: (message) => process.stderr.write(`${message}\n`) });
process.stdout.write('ready\n');
setInterval(() => {}, 60_000);
