import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The unprivileged UI, served by the host from ui/dist under a strict CSP
 * (src/web/security-headers.ts): no inline script and no inline style, so
 * the build emits only files (no modulepreload polyfill, which is inline-free
 * anyway, and no assets inlined as data: script).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  resolve: {
    // Only the desktop contract, not the protocol package's whole index (cloud and link catalogs).
    alias: {
      '@multiclaw/protocol/desktop': fileURLToPath(
        new URL('../../../packages/protocol/src/desktop.ts', import.meta.url),
      ),
      '@multiclaw/protocol/errors': fileURLToPath(
        new URL('../../../packages/protocol/src/errors.ts', import.meta.url),
      ),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 800,
  },
});
