/**
 * What a fake provider does with the next request. One script serves every
 * request until `setScript` replaces it; a function script decides per request.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** How a streamed reply goes wrong after `afterChunks` text chunks. */
export type InterruptAction =
  /** TCP reset (RST): the client sees ECONNRESET. Data in flight may be lost. */
  | 'reset'
  /** The socket is closed (FIN) in the middle of the chunked body: "other side closed". */
  | 'close'
  /** The response ends cleanly but without the terminal event ([DONE] / message_stop). */
  | 'end'
  /** One `data:` line that is not valid JSON, then the stream carries on normally. */
  | 'malformed'
  /** Nothing more is sent; the connection stays open until the client leaves or the server closes. */
  | 'hang'
  /** The provider's in-stream error (Anthropic `event: error`, OpenAI `data: {"error":…}`), then the end. */
  | { error: { type: string; message: string } };

export interface StreamReply {
  kind: 'stream';
  /** The reply text, one SSE chunk per element, in order. */
  chunks: string[];
  /** The provider's own stop reason (OpenAI 'stop' | 'length'; Anthropic 'end_turn' | 'max_tokens'). */
  finishReason?: string;
  /** Reported token usage; a rough count when absent. */
  usage?: { inputTokens: number; outputTokens: number };
  /** Wait this long before each text chunk: a slow stream. */
  chunkDelayMs?: number;
  interrupt?: { afterChunks: number; action: InterruptAction };
  /** Extra response headers (e.g. rate-limit headers). */
  headers?: Record<string, string>;
}

export interface ErrorReply {
  kind: 'error';
  status: number;
  /** The provider's error type (OpenAI `code`/`type`, Anthropic `error.type`); a realistic default per status. */
  type?: string;
  /** The provider's error message; a realistic default per status. */
  message?: string;
  /** A raw body instead of the provider's JSON error shape. */
  rawBody?: string;
  /** Extra headers, e.g. `{ 'retry-after': '30' }`. */
  headers?: Record<string, string>;
}

export interface RedirectReply {
  kind: 'redirect';
  status?: 301 | 302 | 303 | 307 | 308;
  location: string;
}

export type FakeReply = StreamReply | ErrorReply | RedirectReply;

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. '/v1/chat/completions'. */
  path: string;
  /** Lower-cased header names, as node:http gives them. */
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: unknown;
  /** Settles when the exchange is over; `completed` is false when the client left before the response ended. */
  closed: Promise<{ completed: boolean }>;
}

export type FakeScript = FakeReply | ((request: RecordedRequest, index: number) => FakeReply);

export interface FakeProviderOptions {
  /** When set, requests must carry this key (as the real API checks it) or get the provider's real 401. */
  apiKey?: string;
}

export interface FakeProvider {
  /** The server's origin, e.g. http://127.0.0.1:40123. */
  url: string;
  /** What to configure as `models.providers.<id>.baseUrl` for this fake. */
  baseUrl: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  setScript(script: FakeScript): void;
  /** Stops the server, cutting any open connection. */
  close(): Promise<void>;
}
