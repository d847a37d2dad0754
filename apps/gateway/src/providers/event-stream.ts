/**
 * Reads a provider's Server-Sent Events body, handing each event to the
 * adapter until the adapter says the stream is complete. Framing is done by
 * `eventsource-parser`; what an event means is the adapter's business.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { badResponseError, connectionError, type ProviderContext, truncatedStreamError } from './errors.js';

/** Returns true for the terminal event ([DONE], message_stop): reading stops there. */
export type EventHandler = (event: EventSourceMessage) => boolean;

export async function readEventStream(
  response: Response,
  context: ProviderContext,
  signal: AbortSignal,
  onEvent: EventHandler,
): Promise<void> {
  const contentType = response.headers.get('content-type') ?? '';
  if (!response.body || !contentType.toLowerCase().includes('text/event-stream')) {
    await response.body?.cancel().catch(() => undefined);
    throw badResponseError(
      context,
      `expected an event stream, got "${contentType.slice(0, 80) || 'no body'}"`,
    );
  }

  let complete = false;
  const parser = createParser({
    onEvent(event) {
      if (!complete) complete = onEvent(event);
    },
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    while (!complete) {
      signal.throwIfAborted();
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw connectionError(error, context, signal);
      }
      if (chunk.done) {
        parser.feed(decoder.decode());
        if (!complete) throw truncatedStreamError(context);
        break;
      }
      parser.feed(decoder.decode(chunk.value, { stream: true }));
    }
  } finally {
    // Closes the connection when we stop early (terminal event, bad chunk, abort).
    await reader.cancel().catch(() => undefined);
  }
}
