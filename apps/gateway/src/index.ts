// The gateway as a library: used by the benchmarks and by the desktop host.
// What a local client needs (config, control-protocol client, probe) is client.ts.
export * from './client.js';
export {
  type BuiltGateway,
  buildGateway,
  type RunningGateway,
  type StartGatewayOptions,
  startGateway,
} from './gateway.js';
export { LocalStore } from './store/local-store.js';
