import { GATEWAY_VERSION } from '../version.js';

/**
 * The gateway as its CLI and crash reports name it. Not in version.ts: a release artifact
 * replaces that file with its version alone (packages/release/src/gateway-artifact.ts).
 */
export const GATEWAY_PROGRAM = { command: 'multiclaw-gateway', version: GATEWAY_VERSION } as const;
