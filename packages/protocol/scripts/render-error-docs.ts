import { writeFileSync } from 'node:fs';
import { renderErrorDocs } from '../src/error-docs.js';

const target = new URL('../../../docs/errors.md', import.meta.url);
writeFileSync(target, renderErrorDocs());
console.log(`wrote ${target.pathname}`);
