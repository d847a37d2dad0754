import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** What the window shows when apps/desktop/ui has not been built: plain HTML, nothing the CSP would block. */
const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>MultiClaw — the UI is not built</title></head>
<body>
<main>
<h1>The MultiClaw desktop UI is not built yet</h1>
<p>The desktop host is running, but it found no built UI in <code>apps/desktop/ui/dist</code>.</p>
<p>Build it, then restart the desktop:</p>
<pre>pnpm --filter @multiclaw/desktop build
pnpm --filter @multiclaw/desktop start</pre>
</main>
</body>
</html>
`;

/**
 * Serves the built UI from `dir` (index.html for any page route, so a reload
 * works), or the "not built" page. Dotfiles are never served.
 */
export async function registerStaticUi(app: FastifyInstance, dir: string): Promise<'built' | 'missing'> {
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT_PAGE));
    return 'missing';
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    dotfiles: 'deny',
    index: ['index.html'],
    // index.html names the hashed assets; a stale copy would load old ones.
    setHeaders: (res, path) => {
      if (path.endsWith('.html')) res.header('cache-control', 'no-store');
    },
  });
  return 'built';
}
