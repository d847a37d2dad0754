import { writeFileSync } from 'node:fs';
import { renderPermissionsDoc } from '../src/modules/workspaces/permissions-doc.js';

const target = new URL('../../../docs/permissions.md', import.meta.url);
writeFileSync(target, renderPermissionsDoc());
console.log(`wrote ${target.pathname}`);
