/** What another process's host (the desktop) may use of the gateway's updater: `@multiclaw/gateway/update`. */

export { isRefusal } from '@multiclaw/updater';
export { gatewayUpdate } from './gateway-update.js';
export { GATEWAY_PRODUCT, UpdateNotConfiguredError, versionsDir } from './gateway-updater.js';
