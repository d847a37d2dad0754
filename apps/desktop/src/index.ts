// The desktop host as a library: tests, and scripts that start the whole product.
export { capabilitiesDirOf, parseDesktopEnv } from './config.js';
export { type RunningDesktop, type StartDesktopOptions, startDesktop } from './desktop.js';
export { CONTENT_SECURITY_POLICY } from './web/security-headers.js';
