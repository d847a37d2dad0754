import { WebSocket } from 'ws';
import { type FromClients, type ServerMode, type SocketPlan, type ToClients, wallMs } from './ipc.js';

/**
 * The desktops of bench/realtime, in a process of their own: opens the
 * sockets the driver plans (signed in with `auth.token` on the cloud,
 * registered for a workspace on the bare server) and notes when each event
 * frame arrives.
 */
const reply = (message: FromClients) => process.send?.(message);
const sockets: WebSocket[] = [];
let seqs: number[] = [];
let receivedAt: number[] = [];

function open(url: string, mode: ServerMode, plan: SocketPlan): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once('error', reject);
    socket.once('open', () => {
      socket.send(
        mode === 'cloud'
          ? JSON.stringify({ v: 1, type: 'auth.token', payload: { accessToken: plan.accessToken } })
          : JSON.stringify({ workspaceId: plan.workspaceId }),
      );
    });
    socket.once('message', (data) => {
      const first = JSON.parse(String(data)) as { type: string };
      if (first.type !== 'auth.ok' && first.type !== 'ok')
        return reject(new Error(`refused: ${String(data)}`));
      socket.on('message', (frame) => {
        const at = wallMs();
        const parsed = JSON.parse(String(frame)) as { type: string; payload: { lastSeq: number } };
        if (parsed.type !== 'realtime.event') return;
        seqs.push(parsed.payload.lastSeq);
        receivedAt.push(at);
      });
      resolve(socket);
    });
  });
}

async function connectAll(command: Extract<ToClients, { type: 'connect' }>) {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: command.concurrency }, async () => {
      while (next < command.sockets.length) {
        const plan = command.sockets[next++] as SocketPlan;
        sockets.push(await open(command.url, command.mode, plan));
      }
    }),
  );
  reply({ type: 'connected', count: sockets.length, seconds: (performance.now() - start) / 1000 });
}

process.on('message', async (command: ToClients) => {
  if (command.type === 'connect') await connectAll(command);
  else if (command.type === 'report') {
    reply({ type: 'report', seqs, receivedAt });
    seqs = [];
    receivedAt = [];
  } else if (command.type === 'close') {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  }
});
