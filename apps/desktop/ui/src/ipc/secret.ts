/**
 * The window secret: the host puts it in the URL fragment (`#secret=…`,
 * never sent over the network); the UI moves it into this module's memory
 * and strips it from the address bar before anything else runs. It is never
 * written to any storage, and no component can read it: only the IPC client
 * sends it, in the `x-multiclaw-secret` header and the event stream's first frame.
 */
let secret: string | undefined;

/** Called once, first thing at load. */
export function takeSecretFromAddress(): void {
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get('secret');
  if (fromHash) secret = fromHash;
  if (window.location.hash) {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
}

/** For the IPC client only. */
export function windowSecret(): string | undefined {
  return secret;
}
