/**
 * The scopes of the recordings and extension methods (merged into
 * api/method-scopes.ts's table): reading recordings needs `operator.read`,
 * changing them `operator.write`, deleting or attaching them to an agent
 * (which puts them into its model's context) `operator.admin`, and pairing
 * `operator.pairing`, OpenClaw's scope for pairing devices.
 */
export const RECORDING_METHOD_SCOPES = {
  'multiclaw.extension.pairingCode': 'operator.pairing',
  'multiclaw.extension.list': 'operator.pairing',
  'multiclaw.extension.unpair': 'operator.pairing',
  'multiclaw.recordings.list': 'operator.read',
  'multiclaw.recordings.get': 'operator.read',
  'multiclaw.recordings.export': 'operator.read',
  'multiclaw.recordings.rename': 'operator.write',
  'multiclaw.recordings.delete': 'operator.admin',
  'multiclaw.recordings.attach': 'operator.admin',
  'multiclaw.recordings.detach': 'operator.admin',
} as const;
