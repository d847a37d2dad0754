/**
 * Child for the reply kill tests: `node --import tsx gateway-start.ts <stateDir>` runs the
 * gateway exactly as `multiclaw-gateway start --port 0` does (signal handling included),
 * logging `MultiClaw gateway listening on <url>` once it serves.
 */
import { runStart } from '../../src/cli/start.js';
import { resolveGatewayPaths } from '../../src/config/paths.js';

const [stateDir] = process.argv.slice(2);
if (!stateDir) {
  process.stderr.write('usage: gateway-start.ts <stateDir>\n');
  process.exit(2);
}
process.exitCode = await runStart(resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir }), {
  strict: false,
  port: 0,
});
