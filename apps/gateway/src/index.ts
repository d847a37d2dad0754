// The gateway as a library: used by the benchmarks and by the desktop host.
export {
  GatewayCallError,
  GatewayClient,
  type GatewayClientOptions,
  GatewayUpgradeRefused,
} from './cli/gateway-client.js';
export {
  fetchGatewayStatus,
  type GatewayProbe,
  localEgress,
  localGatewayOrigin,
} from './cli/local-client.js';
export { ConfigFile } from './config/config-file.js';
export { type GatewayPaths, resolveGatewayPaths } from './config/paths.js';
export { ConfigError, describeIssues, type GatewayConfig } from './config/schema.js';
export {
  type BuiltGateway,
  buildGateway,
  type RunningGateway,
  type StartGatewayOptions,
  startGateway,
} from './gateway.js';
export { LocalStore } from './store/local-store.js';
export { GATEWAY_VERSION } from './version.js';
