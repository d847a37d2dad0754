export { runRelease, USAGE } from './cli.js';
