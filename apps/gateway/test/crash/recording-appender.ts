/**
 * Child for the recordings kill test: `node --import tsx recording-appender.ts <dir> <recordingId> <pairingId>`.
 * Opens the recordings store, prints `ready`, then appends one step per batch forever, printing the
 * seq of each batch only after the store acknowledged it (what the gateway answers the extension).
 */
import { RecordingStore } from '../../src/recordings/recording-store.js';

const [dir, recordingId, pairingId] = process.argv.slice(2);
if (!dir || !recordingId || !pairingId) {
  process.stderr.write('usage: recording-appender.ts <dir> <recordingId> <pairingId>\n');
  process.exit(2);
}
const store = await RecordingStore.open(dir, { warn: (message) => process.stderr.write(`${message}\n`) });
let seq = store.list().find((recording) => recording.id === recordingId)?.stepCount ?? 0;
process.stdout.write('ready\n');
for (;;) {
  seq += 1;
  const step = {
    kind: 'click' as const,
    seq,
    at: seq,
    tabId: 1,
    url: 'https://shop.example/',
    selector: `#item-${seq}`,
    role: 'button',
    text: `Item ${seq}`.repeat(1 + (seq % 7)),
  };
  const acked = await store.appendSteps(recordingId, pairingId, {
    startedAt: 0,
    name: 'crash',
    steps: [step],
  });
  if (acked.lastSeq !== seq) {
    process.stderr.write(`expected seq ${seq}, got ${acked.lastSeq}\n`);
    process.exit(3);
  }
  process.stdout.write(`${seq}\n`);
}
