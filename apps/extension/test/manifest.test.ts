import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExtension, DIST } from './support/extension-browser.js';

/** The built extension asks for exactly what docs/extension.md lists, and nothing a page could use. */
let manifest: Record<string, unknown>;
beforeAll(async () => {
  buildExtension();
  manifest = JSON.parse(await readFile(join(DIST, 'manifest.json'), 'utf8'));
});

describe('the built manifest', () => {
  it('asks for the documented permissions and hosts only', () => {
    expect(manifest.manifest_version).toBe(3);
    expect([...(manifest.permissions as string[])].sort()).toEqual([
      'activeTab',
      'alarms',
      'scripting',
      'storage',
      'tabs',
    ]);
    expect(manifest.host_permissions).toEqual(['http://127.0.0.1/*', 'http://localhost/*']);
    expect(manifest).not.toHaveProperty('optional_permissions');
    expect(manifest).not.toHaveProperty('optional_host_permissions');
  });

  it('lets no page or other extension connect, and exposes no resource to pages', () => {
    expect(manifest.externally_connectable).toEqual({ ids: [], matches: [] });
    expect(manifest.web_accessible_resources).toEqual([]);
  });

  it('has a strict CSP for its pages: own scripts only, connections to loopback only', () => {
    const csp = (manifest.content_security_policy as { extension_pages: string }).extension_pages;
    const directives = Object.fromEntries(
      csp.split(';').map((part) => {
        const [name, ...values] = part.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(['http://127.0.0.1:*', 'http://localhost:*']);
    expect(directives['object-src'] ?? directives['default-src']).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe-(eval|inline)|wasm-unsafe/);
  });

  it('declares the content script on every web page, in every frame, from document start', () => {
    expect(manifest.content_scripts).toEqual([
      {
        matches: ['http://*/*', 'https://*/*'],
        js: ['content-script.js'],
        run_at: 'document_start',
        all_frames: true,
      },
    ]);
  });

  it('zips exactly the unpacked files, with the package version', async () => {
    const pkg = JSON.parse(await readFile(join(DIST, '..', 'package.json'), 'utf8'));
    expect(manifest.version).toBe(pkg.version);
    const zip = unzipSync(
      new Uint8Array(await readFile(join(DIST, '..', 'release', `multiclaw-extension-${pkg.version}.zip`))),
    );
    expect(Object.keys(zip).sort()).toEqual(
      [
        'content-script.js',
        'manifest.json',
        'popup.css',
        'popup.html',
        'popup.js',
        'service-worker.js',
      ].sort(),
    );
    expect(new TextDecoder().decode(zip['manifest.json'])).toBe(
      await readFile(join(DIST, 'manifest.json'), 'utf8'),
    );
  });
});
