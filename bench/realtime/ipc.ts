/**
 * What the driver (main.ts), the server process (server.ts) and the client
 * process (clients.ts) say to each other over Node's IPC channel.
 */

/** Wall-clock time in milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export const wallMs = () => performance.timeOrigin + performance.now();

export type ServerMode = 'cloud' | 'bare';

export type ToServer =
  | { type: 'memory' }
  | {
      type: 'publish';
      workspaceIds: string[];
      eventsPerSecond: number;
      seconds: number;
      warmupSeconds: number;
    }
  | { type: 'stop' };

export type FromServer =
  | { type: 'listening'; port: number }
  | { type: 'memory'; rssBytes: number; heapUsedBytes: number; heapTotalBytes: number; externalBytes: number }
  /** `sentAt[seq]`: when event `seq` was handed to the bus (or the bare fan-out); measured from `firstMeasuredSeq` on. */
  | { type: 'published'; sentAt: number[]; firstMeasuredSeq: number };

/** One socket to open: signed in with `accessToken` (the cloud) or registered for `workspaceId` (bare). */
export type SocketPlan = { workspaceId: string; accessToken: string };

export type ToClients =
  | { type: 'connect'; url: string; mode: ServerMode; sockets: SocketPlan[]; concurrency: number }
  | { type: 'report' }
  | { type: 'close' };

export type FromClients =
  | { type: 'connected'; count: number; seconds: number }
  /** Every event frame received: its sequence number and when it arrived. */
  | { type: 'report'; seqs: number[]; receivedAt: number[] };

/** Sends one message and waits for the first reply of the given type. */
export function request<Reply extends { type: string }>(
  child: import('node:child_process').ChildProcess,
  message: unknown,
  replyType: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: Reply) => {
      if (reply?.type !== replyType) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(reply);
    };
    const onExit = (code: number | null) =>
      reject(new Error(`child exited (${code}) before replying ${replyType}`));
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send(message as never);
  });
}
