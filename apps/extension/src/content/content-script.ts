import type { CapturedStep, SessionBroadcast } from '../shared/messages.js';
import { isSensitiveField } from '../shared/sensitive.js';
import { isField, labelsOf, meaningfulTarget, roleOf, selectorOf, textOf } from './describe.js';
import { askWorker, workerChannel } from './worker-channel.js';

/**
 * The recorder in every page (and frame). Its listeners are registered when
 * it loads, and each first checks the cached session state: between sessions
 * it captures, keeps and sends nothing. The cache is filled by asking the
 * service worker when the page loads and follows the worker's broadcasts.
 * Until that first answer (a few milliseconds), a person's steps wait in
 * memory here and are sent only if the answer says a session is on: a click
 * right after a page loads in a session is not lost, and nothing leaves the
 * page otherwise.
 * Only events the browser marks trusted (a person's, not a page script's)
 * are recorded. Steps go over a port held open while the frame records
 * (worker-channel.ts).
 */

declare global {
  // Set once per frame: a second injection (scripting.executeScript) does nothing.
  var __multiclawRecorder: boolean | undefined;
}

if (!globalThis.__multiclawRecorder) {
  globalThis.__multiclawRecorder = true;
  const state = { known: false, active: false, crossOriginFrames: false };
  /** Steps taken before the first answer; at most a handful, gone once it arrives. */
  let early: CapturedStep[] = [];
  const EARLY_MAX = 50;
  const worker = workerChannel();

  const apply = (update: { active?: unknown; crossOriginFrames?: unknown }) => {
    state.known = true;
    state.active = update.active === true;
    state.crossOriginFrames = update.crossOriginFrames === true;
    const waiting = early;
    early = [];
    if (!recording()) return worker.close();
    worker.open();
    for (const step of waiting) worker.send({ type: 'step', step });
  };

  chrome.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
    // Only this extension can message a content script; checked anyway.
    if (sender.id !== chrome.runtime.id || typeof message !== 'object' || message === null) return false;
    const typed = message as SessionBroadcast | { type: 'ping' };
    if (typed.type === 'session') apply(typed);
    if (typed.type === 'ping') sendResponse({ present: true });
    return false;
  });
  askWorker({ type: 'session?' }).then((answer) => {
    if (state.known) return; // a broadcast came first and is newer
    apply(answer && typeof answer === 'object' ? (answer as SessionBroadcast) : { active: false });
  });

  /** Whether this frame may be recorded now: a session is on, and the frame is the page's own or opted in. */
  const recording = () => state.active && (state.crossOriginFrames || sameOriginAsPage());
  /** Whether a step may be taken: recording, or not yet known (it then waits for the answer). */
  const listening = () => !state.known || recording();

  document.addEventListener(
    'click',
    (event) => {
      if (!listening() || !event.isTrusted) return;
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
      if (!listening() || !event.isTrusted) return;
      const field = event.target;
      if (!(field instanceof Element) || !isField(field)) return;
      report({ kind: 'input', ...describe(field), ...recordedValue(field) });
    },
    true,
  );

  document.addEventListener(
    'submit',
    (event) => {
      if (!listening() || !event.isTrusted) return;
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
    if (state.known) worker.send({ type: 'step', step });
    else if (early.length < EARLY_MAX) early.push(step);
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
