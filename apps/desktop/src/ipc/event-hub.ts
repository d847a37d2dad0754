import type { DesktopEvent } from '@multiclaw/protocol';

type Listener = (event: DesktopEvent) => void;

/** Fans the host's events (gateway up/down, chat) out to every open event stream. */
export class EventHub {
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: DesktopEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
