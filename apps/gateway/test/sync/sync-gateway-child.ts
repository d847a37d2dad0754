/**
 * The gateway for the sync fault suite, as a process the suite can SIGKILL:
 * `node --import tsx sync-gateway-child.ts <stateDir> <conversations> <target> <messages per second>`.
 * Starts the real gateway on the state directory (its link follows
 * identity/link.json), prints `ready`, then writes messages of the opted-in
 * local agent `main` into conversations `agent:main:c<n>` — a few at a time,
 * round-robin, each append fsync'd by the store — until the store holds
 * `target` messages in all (at most `messages per second`, so the writing lasts
 * as long as the faults), prints `written`, and keeps running (syncing).
 * A restart after a kill carries on from what the store holds.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '@multiclaw/runtime/logger';
import { resolveGatewayPaths } from '../../src/config/paths.js';
import { startGateway } from '../../src/gateway.js';

const [stateDir, conversationsArg, targetArg, rateArg] = process.argv.slice(2);
if (!stateDir || !conversationsArg || !targetArg || !rateArg) {
  process.stderr.write(
    'usage: sync-gateway-child.ts <stateDir> <conversations> <target> <messages per second>\n',
  );
  process.exit(2);
}
const conversations = Number(conversationsArg);
const target = Number(targetArg);
const rate = Number(rateArg);
const log = createLogger({
  service: 'multiclaw-gateway',
  level: 'warn',
  destination: { write: (line: string) => process.stderr.write(line) },
});
const gateway = await startGateway({
  paths: resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir }),
  log,
  port: 0,
});
const { store } = gateway;
const keys = Array.from({ length: conversations }, (_, index) => `agent:main:c${index}`);
const counts: number[] = [];
for (const [index, key] of keys.entries()) {
  const existing = await store.findSession(key);
  counts[index] = existing
    ? existing.messageCount
    : (await store.createSession('main', `conversation ${index}`, new Date(), key)).messageCount;
}
let total = counts.reduce((sum, count) => sum + count, 0);
process.stdout.write('ready\n');
let turn = 0;
const startedAt = performance.now();
const startedWith = total;
while (total < target) {
  const due = startedWith + ((performance.now() - startedAt) / 1000) * rate;
  if (total > due) await new Promise((resolve) => setTimeout(resolve, ((total - due) / rate) * 1000));
  const index = turn++ % conversations;
  const take = Math.min(1 + Math.floor(Math.random() * 6), target - total);
  const seq = counts[index] as number;
  const drafts = Array.from({ length: take }, (_, offset) => ({
    id: randomUUID(),
    role: (seq + offset) % 2 ? ('assistant' as const) : ('user' as const),
    ...((seq + offset) % 2 ? { status: 'complete' as const } : {}),
    content: `c${index} m${seq + offset + 1} ${'·'.repeat((seq + offset) % 97)}`,
    createdAt: new Date().toISOString(),
  }));
  await store.appendMessages(keys[index] as string, drafts);
  counts[index] = seq + take;
  total += take;
}
process.stdout.write('written\n');
