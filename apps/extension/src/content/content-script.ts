import type { CapturedStep, ContentToWorker, SessionBroadcast } from '../shared/messages.js';
import { isSensitiveField } from '../shared/sensitive.js';
import { isField, labelsOf, meaningfulTarget, roleOf, selectorOf, textOf } from './describe.js';

/**
 * The recorder in every page (and frame). Its listeners are registered when
 * it loads, and each first checks the cached session state: between sessions
 * it captures, keeps and sends nothing. The cache starts as "not recording",
 * is filled by asking the service worker, and follows the worker's broadcasts.
 * Only events the browser marks trusted (a person's, not a page script's)
 * are recorded.
 */

declare global {
  // Set once per frame: a second injection (scripting.executeScript) does nothing.
  var __multiclawRecorder: boolean | undefined;
}

if (!globalThis.__multiclawRecorder) {
  globalThis.__multiclawRecorder = true;
  const state = { active: false, crossOriginFrames: false };

  const apply = (update: { active?: unknown; crossOriginFrames?: unknown }) => {
    state.active = update.active === true;
    state.crossOriginFrames = update.crossOriginFrames === true;
  };

  chrome.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
    // Only this extension can message a content script; checked anyway.
    if (sender.id !== chrome.runtime.id || typeof message !== 'object' || message === null) return false;
    const typed = message as SessionBroadcast | { type: 'ping' };
    if (typed.type === 'session') apply(typed);
    if (typed.type === 'ping') sendResponse({ present: true });
    return false;
  });
  send({ type: 'session?' }).then((answer) => {
    if (answer && typeof answer === 'object') apply(answer as SessionBroadcast);
  });

  /** Whether this frame may be recorded now: a session is on, and the frame is the page's own or opted in. */
  const recording = () => state.active && (state.crossOriginFrames || sameOriginAsPage());

  document.addEventListener(
    'click',
    (event) => {
      if (!recording() || !event.isTrusted) return;
      const element = meaningfulTarget(event.target);
      if (!element) return;
      report({ kind: 'click', ...describe(element) });
    },
    true,
  );

  // `change` carries the final value of a field, once, when the person leaves it.
  document.addEventListener(
    'change',
    (event) => {
      if (!recording() || !event.isTrusted) return;
      const field = event.target;
      if (!(field instanceof Element) || !isField(field)) return;
      report({ kind: 'input', ...describe(field), ...recordedValue(field) });
    },
    true,
  );

  document.addEventListener(
    'submit',
    (event) => {
      if (!recording() || !event.isTrusted) return;
      const form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      report({ kind: 'submit', ...describe(form) });
    },
    true,
  );

  function describe(element: Element) {
    return {
      selector: selectorOf(element),
      role: roleOf(element),
      text: textOf(element),
      url: location.href,
      at: Date.now(),
    };
  }

  function report(step: CapturedStep) {
    void send({ type: 'step', step });
  }
}

/**
 * The value to record, or the mask. A masked field's value is never read
 * into the step: there is nothing to leak further down.
 */
function recordedValue(field: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement): {
  masked: boolean;
  value?: string;
} {
  const sensitive = isSensitiveField({
    tag: field.tagName.toLowerCase(),
    type: field instanceof HTMLInputElement ? field.type : '',
    autocomplete: field.getAttribute('autocomplete') ?? '',
    names: [
      field.getAttribute('name') ?? '',
      field.id,
      field.getAttribute('aria-label') ?? '',
      field.getAttribute('placeholder') ?? '',
      ...labelsOf(field),
    ],
  });
  if (sensitive) return { masked: true };
  if (field instanceof HTMLInputElement && (field.type === 'checkbox' || field.type === 'radio'))
    return { masked: false, value: field.checked ? 'checked' : 'unchecked' };
  if (field instanceof HTMLSelectElement)
    return { masked: false, value: [...field.selectedOptions].map((option) => option.text).join(', ') };
  return { masked: false, value: field.value };
}

/** A frame whose every ancestor has its own origin (the top page: trivially). */
function sameOriginAsPage(): boolean {
  if (window === window.top) return true;
  const ancestors = location.ancestorOrigins;
  return ancestors !== undefined && [...ancestors].every((origin) => origin === location.origin);
}

function send(message: ContentToWorker): Promise<unknown> {
  // The extension may have been reloaded or removed under this page: nothing to do then.
  return chrome.runtime.sendMessage(message).catch(() => undefined);
}
