import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CloudToGateway,
  EnrollGatewayResponse,
  ErrorEnvelope,
  encodeWsMessage,
  GatewayEnrollment,
  GatewayToCloud,
  LINK_ASSERTION_ALG,
  LINK_ASSERTION_MAX_SECONDS,
  LINK_ASSERTION_TYPE,
  LINK_VERSIONS_HEADER,
  parseWsMessage,
  type WsMessage,
} from '@multiclaw/protocol';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import type { z } from 'zod';
import type { TestUser, testActors } from './actors.js';

/** A gateway as `multiclaw-gateway link` leaves one: enrolled through the HTTP API, its private key kept here. */
export type TestGateway = { gatewayId: string; workspaceId: string; privateKey: KeyObject };

type Send = ReturnType<typeof testActors>['send'];

/** Enrolls a fresh gateway for `user` in workspace `wid` through the real endpoints (code, then enroll). */
export async function enrollTestGateway(send: Send, wid: string, user: TestUser): Promise<TestGateway> {
  const created = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/gateway-enrollments`,
    token: user.token,
    payload: {},
  });
  if (created.statusCode !== 201) throw new Error(`enrollment code: ${created.statusCode} ${created.body}`);
  const { code } = GatewayEnrollment.parse(created.json());
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  const enrolled = await send({
    method: 'POST',
    url: '/v1/gateways/enroll',
    payload: { code, publicKey: x },
  });
  if (enrolled.statusCode !== 201) throw new Error(`enroll: ${enrolled.statusCode} ${enrolled.body}`);
  const { gatewayId, workspaceId } = EnrollGatewayResponse.parse(enrolled.json());
  return { gatewayId, workspaceId, privateKey };
}

export type AssertionOptions = {
  audience: string;
  now: Date;
  /** Seconds since the epoch; default: now, and iat + 60. */
  iat?: number;
  exp?: number;
  jti?: string | null;
  iss?: string;
  sub?: string;
  typ?: string | null;
  /** Signs with this key instead of the gateway's. */
  key?: KeyObject;
};

/** An assertion as a gateway signs one (alg EdDSA, typ multiclaw-link+jwt); each option bends one part of it. */
export async function signTestAssertion(gateway: TestGateway, options: AssertionOptions): Promise<string> {
  const iat = options.iat ?? Math.floor(options.now.getTime() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({
      alg: LINK_ASSERTION_ALG,
      ...(options.typ === null ? {} : { typ: options.typ ?? LINK_ASSERTION_TYPE }),
    })
    .setIssuer(options.iss ?? gateway.gatewayId)
    .setSubject(options.sub ?? gateway.gatewayId)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setExpirationTime(options.exp ?? iat + LINK_ASSERTION_MAX_SECONDS);
  if (options.jti !== null) jwt.setJti(options.jti ?? randomUUID());
  return jwt.sign(options.key ?? gateway.privateKey);
}

export type CloudFrame = WsMessage<typeof CloudToGateway>;
export type Refusal = { status: number; envelope: ErrorEnvelope; headers: Record<string, unknown> };

/**
 * A link socket from the gateway's side: every frame the cloud sent, parsed
 * against the catalog (a frame the gateway could not parse fails the test),
 * waited for by type; heartbeats answered, as a live gateway does.
 */
export class LinkClient {
  readonly frames: CloudFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private consumed = new Set<CloudFrame>();
  private waiters: Array<() => void> = [];

  constructor(
    readonly socket: WebSocket,
    options: { answerHeartbeats?: boolean } = {},
  ) {
    const answer = options.answerHeartbeats ?? true;
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
    socket.on('message', (data) => {
      const frame = parseWsMessage(CloudToGateway, data.toString());
      this.frames.push(frame);
      if (answer && frame.type === 'link.heartbeat')
        this.send('link.heartbeat', { sentAt: frame.payload.sentAt });
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('close', () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  send<Type extends keyof typeof GatewayToCloud & string>(
    type: Type,
    payload: z.infer<(typeof GatewayToCloud)[Type]>,
    id?: string,
  ): void {
    if (this.socket.readyState === WebSocket.OPEN)
      this.socket.send(encodeWsMessage(GatewayToCloud, type, payload, id));
  }

  sendRaw(text: string | Buffer): void {
    this.socket.send(text);
  }

  /** The next frame of this type not yet taken (and, with `id`, answering that request). */
  async next<Type extends CloudFrame['type']>(
    type: Type,
    options: { id?: string; timeoutMs?: number } = {},
  ): Promise<Extract<CloudFrame, { type: Type }>> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const found = this.frames.find(
        (frame) =>
          frame.type === type &&
          !this.consumed.has(frame) &&
          (options.id === undefined || frame.id === options.id),
      );
      if (found) {
        this.consumed.add(found);
        return found as Extract<CloudFrame, { type: Type }>;
      }
      if (this.socket.readyState === WebSocket.CLOSED)
        throw new Error(`socket closed before a ${type} frame`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} frame within ${options.timeoutMs ?? 10_000} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a request and waits for the frame answering it (the reply type, or `link.error`). */
  async request<Type extends keyof typeof GatewayToCloud & string>(
    type: Type,
    payload: z.infer<(typeof GatewayToCloud)[Type]>,
  ): Promise<CloudFrame> {
    const id = randomUUID();
    this.send(type, payload, id);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const answer = this.frames.find((frame) => frame.id === id);
      if (answer) return answer;
      if (Date.now() > deadline) throw new Error(`no answer to ${type}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Opens the link at `url` with the given assertion and versions header.
 * Resolves with the open socket, or with the HTTP refusal of the upgrade.
 */
export function connectLink(
  url: string,
  options: { assertion?: string; versions?: string | null; answerHeartbeats?: boolean } = {},
): Promise<LinkClient | Refusal> {
  const headers: Record<string, string> = {};
  if (options.assertion !== undefined) headers.authorization = `Bearer ${options.assertion}`;
  if (options.versions !== null) headers[LINK_VERSIONS_HEADER] = options.versions ?? '1';
  const socket = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    // Frames may arrive right after the open: the client listens from the start.
    const client = new LinkClient(socket, { answerHeartbeats: options.answerHeartbeats ?? true });
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const envelope = ErrorEnvelope.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        resolve({ status: response.statusCode ?? 0, envelope, headers: response.headers });
        socket.terminate();
      });
    });
    socket.on('error', reject);
  });
}

export function isRefusal(result: LinkClient | Refusal): result is Refusal {
  return !(result instanceof LinkClient);
}

/** The open socket, or a test failure naming the refusal. */
export async function opened(result: Promise<LinkClient | Refusal>): Promise<LinkClient> {
  const outcome = await result;
  if (isRefusal(outcome))
    throw new Error(`link refused: ${outcome.status} ${JSON.stringify(outcome.envelope)}`);
  return outcome;
}

/** The refusal, or a test failure saying the link opened. */
export async function refused(result: Promise<LinkClient | Refusal>): Promise<Refusal> {
  const outcome = await result;
  if (!isRefusal(outcome)) {
    outcome.socket.terminate();
    throw new Error('the link opened');
  }
  return outcome;
}

/** Starts `app` on a free loopback port and answers the link's URL there. */
export async function listenForLinks(app: {
  server: Server;
  listen(options: { host: string; port: number }): Promise<string>;
}): Promise<string> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
  return `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/gateway-link`;
}

/** Reads until `check` holds (the link writes Postgres after a socket event), failing after 5 s. */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`never: ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
