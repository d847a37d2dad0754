// The gateway as a library: used by the benchmarks and, later, by the desktop host.
export { ConfigFile } from './config/config-file.js';
export { type GatewayPaths, resolveGatewayPaths } from './config/paths.js';
export { GatewayConfig } from './config/schema.js';
export { type RunningGateway, type StartGatewayOptions, startGateway } from './gateway.js';
export { LocalStore } from './store/local-store.js';
export { MessageLog } from './store/message-log.js';
