import type { ExtensionPairResponse } from '@multiclaw/protocol';
import { KEYS, type Pairing } from '../shared/state.js';

export async function readPairing(): Promise<Pairing | undefined> {
  const stored = await chrome.storage.local.get(KEYS.pairing);
  return stored[KEYS.pairing] as Pairing | undefined;
}

/** The gateway on this machine: loopback only (the manifest allows no other host). */
export const gatewayUrl = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;

/** Exchanges the code the person typed for a `recordings:write` token; stores it. */
export async function pair(port: number, code: string): Promise<Pairing> {
  const response = await fetch(gatewayUrl(port, '/v1/extension/pair'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
    credentials: 'omit',
  }).catch(() => {
    throw new Error(`No gateway answers on port ${port}. Start it, or check the port.`);
  });
  const body = (await response.json().catch(() => ({}))) as Partial<ExtensionPairResponse> & {
    error?: { message?: string };
  };
  if (!response.ok || !body.token || !body.pairingId)
    throw new Error(body.error?.message ?? `The gateway refused the code (HTTP ${response.status}).`);
  const pairing: Pairing = { port, pairingId: body.pairingId, token: body.token };
  await chrome.storage.local.set({ [KEYS.pairing]: pairing });
  return pairing;
}

/** Forgets the token here; the gateway revokes it when unpaired there (desktop or CLI). */
export async function unpair(): Promise<void> {
  await chrome.storage.local.remove(KEYS.pairing);
}
