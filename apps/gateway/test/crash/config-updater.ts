/**
 * Child for the cross-process update test: `node --import tsx config-updater.ts <stateDir> <prefix> <count>`.
 * Opens the config, prints `ready`, waits for `go` on stdin, then adds <count> agents
 * `<prefix>-<i>` one update() at a time (25 ms apart) and prints `done`.
 */
import { once } from 'node:events';
import { ConfigFile } from '../../src/config/config-file.js';
import { resolveGatewayPaths } from '../../src/config/paths.js';

const [stateDir, prefix, countText] = process.argv.slice(2);
const count = Number(countText);
if (!stateDir || !prefix || !(count > 0)) {
  process.stderr.write('usage: config-updater.ts <stateDir> <prefix> <count>\n');
  process.exit(2);
}
const file = await ConfigFile.open(resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir }));
process.stdout.write('ready\n');
process.stdin.setEncoding('utf8');
let input = '';
while (!input.includes('go\n')) {
  const [chunk] = (await once(process.stdin, 'data')) as [string];
  input += chunk;
}
for (let index = 0; index < count; index++) {
  // A pause between updates longer than a waiter's 20 ms poll, as a CLI and a daemon would have:
  // without it the lock's holder re-takes it before the other process polls again, and the two
  // would not reliably interleave (the test asserts they did).
  await new Promise((resolve) => setTimeout(resolve, 25));
  await file.update((config) => ({
    ...config,
    agents: {
      list: [
        ...config.agents.list,
        { id: `${prefix}-${index}`, name: `${prefix} ${index}`, model: 'openai/gpt-4o' },
      ],
    },
  }));
}
process.stdout.write('done\n');
process.exit(0);
