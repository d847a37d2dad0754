// The gateway as its local clients use it (the desktop host): openclaw.json, the
// control-protocol client and the status probe — nothing that runs a gateway, so a
// client's bundle carries none of the gateway's own dependencies.
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
export { GATEWAY_VERSION } from './version.js';
