import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Secrets typed into the test form: none may appear anywhere outside the page. */
export const SECRETS = {
  password: 'hunter2-Zq9-password',
  card: '4111 1111 1111 1111',
  apiToken: 'tok-Vb8-do-not-leak',
  otp: '918273',
};

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

const PAGES: Record<string, (other: string) => string> = {
  '/form': () =>
    page(
      'Sign in',
      `<h1>Sign in</h1>
      <form id="login" action="/done" method="post">
        <label for="user">Email</label><input id="user" name="user" autocomplete="username">
        <label for="pw">Password</label><input id="pw" name="pw" type="password">
        <label for="card">Card number</label><input id="card" name="cardnumber" autocomplete="cc-number">
        <label for="api">API token</label><input id="api" name="api_token">
        <label for="otp">Code from your phone</label><input id="otp" name="verify" autocomplete="one-time-code">
        <button id="go" type="submit">Sign in</button>
      </form>
      <button id="plain" type="button">Say hello</button>`,
    ),
  '/done': () => page('Signed in', '<h1>Signed in</h1><a id="back" href="/form">Back</a>'),
  '/other': () =>
    page(
      'Other page',
      '<h1>Other</h1><button id="other-button">Other button</button> <a id="to-form" href="/form">To the form</a>',
    ),
  '/frames': (other) =>
    page(
      'Frames',
      `<button id="top-button">Top button</button>
      <iframe id="same" src="/inner"></iframe>
      <iframe id="foreign" src="${other}/inner"></iframe>`,
    ),
  '/inner': () => page('Inner', '<button id="inner-button">Inner button</button>'),
  // A page that tries every way a page has to reach the extension or pass for it.
  '/hostile': () =>
    page(
      'Hostile',
      `<form id="f" action="/done" method="post"><input id="field" name="q"></form>
      <button id="target">Target</button>
      <pre id="result"></pre>
      <script>
      window.attack = async (extensionId) => {
        const results = {};
        try {
          results.runtime = typeof chrome !== 'undefined' && chrome.runtime && chrome.runtime.sendMessage
            ? await new Promise((resolve) => {
                try { chrome.runtime.sendMessage(extensionId, { type: 'start' }, (answer) => resolve(answer === undefined ? 'no answer' : 'ANSWERED')); }
                catch (error) { resolve('threw: ' + error.message); }
              })
            : 'no chrome.runtime';
        } catch (error) { results.runtime = 'threw: ' + error.message; }
        try {
          const response = await fetch('chrome-extension://' + extensionId + '/popup.html');
          results.fetch = 'FETCHED ' + response.status;
        } catch (error) { results.fetch = 'blocked'; }
        // Forged messages and events: the content script must record none of them.
        window.postMessage({ type: 'step', step: { kind: 'click', selector: '#forged', role: 'button', text: 'forged', url: location.href, at: Date.now() } }, '*');
        window.postMessage({ type: 'start' }, '*');
        document.getElementById('target').dispatchEvent(new MouseEvent('click', { bubbles: true }));
        document.getElementById('target').click();
        const field = document.getElementById('field');
        field.value = 'forged value';
        field.dispatchEvent(new Event('change', { bubbles: true }));
        document.getElementById('f').dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
        document.getElementById('result').textContent = JSON.stringify(results);
        return results;
      };
      </script>`,
    ),
};

export interface TestSite {
  origin: string;
  close(): Promise<void>;
}

/** Serves the test pages on 127.0.0.1; `other` is where the cross-origin frame comes from. */
export async function startTestSite(other = ''): Promise<TestSite> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://site').pathname;
    const render = PAGES[path];
    if (!render) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(render(other));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
