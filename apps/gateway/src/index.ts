// The gateway as a library: used by the benchmarks and, later, by the desktop host.
export { type GatewayPaths, resolveGatewayPaths } from './config/paths.js';
export {
  type BuiltGateway,
  buildGateway,
  type RunningGateway,
  type StartGatewayOptions,
  startGateway,
} from './gateway.js';
export { LocalStore } from './store/local-store.js';
