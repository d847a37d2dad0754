export * from './auth.js';
export * from './errors.js';
export * from './ids.js';
export * from './oidc.js';
export * from './pagination.js';
export * from './workspaces.js';
export * from './ws.js';
