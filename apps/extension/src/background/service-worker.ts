import type { RecordedStep } from '@multiclaw/protocol';
import {
  type CapturedStep,
  type PopupStatus,
  type PopupToWorker,
  RECORDER_PORT,
} from '../shared/messages.js';
import { redactUrl } from '../shared/sensitive.js';
import { DEFAULT_GATEWAY_PORT, KEYS } from '../shared/state.js';
import { flush, scheduleFlush } from './delivery.js';
import { pendingCount, readDelivery } from './outbox.js';
import { pair, readPairing, unpair } from './pairing.js';
import { isOwnContentScript, isOwnPopup, isWebUrl } from './senders.js';
import { readSession, readSettings, record, showBadge, start, stop } from './session.js';

/**
 * The extension's service worker: owns the recording session, numbers and
 * queues steps, delivers them to the gateway. Every listener is registered
 * here at the top level, as MV3 requires, so a worker Chrome restarts for an
 * event receives it; all state is in chrome.storage, none only in memory.
 */

// Content scripts run inside web pages' renderers: they get no access to the token or the outbox.
void chrome.storage.local.setAccessLevel({ accessLevel: 'TRUSTED_CONTEXTS' }).catch(() => undefined);
void chrome.storage.session.setAccessLevel({ accessLevel: 'TRUSTED_CONTEXTS' }).catch(() => undefined);

const FLUSH_ALARM = 'flush';
chrome.alarms.create(FLUSH_ALARM, { periodInMinutes: 0.5 });
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === FLUSH_ALARM) void flush();
});
chrome.runtime.onStartup.addListener(() => void showBadge(false));

chrome.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
  const answer = route(message, sender);
  if (!answer) return false;
  answer.then(sendResponse, (error: Error) => sendResponse({ error: error.message }));
  return true;
});

// A recording frame's port (content/worker-channel.ts): steps arrive on it, checked as a message is.
chrome.runtime.onConnect.addListener((port) => {
  const sender = port.sender;
  if (port.name !== RECORDER_PORT || !sender || !isOwnContentScript(sender)) {
    port.disconnect();
    return;
  }
  port.onMessage.addListener((message: unknown) => void route(message, sender)?.catch(() => undefined));
});

function route(message: unknown, sender: chrome.runtime.MessageSender): Promise<unknown> | undefined {
  if (typeof message !== 'object' || message === null || !('type' in message)) return undefined;
  const { type } = message as { type: unknown };
  if (isOwnContentScript(sender)) {
    if (type === 'session?') return sessionForContent();
    if (type === 'step') return onCapturedStep((message as unknown as { step: CapturedStep }).step, sender);
    return undefined;
  }
  if (isOwnPopup(sender)) return onPopup(message as PopupToWorker);
  return undefined;
}

async function sessionForContent() {
  const [session, settings] = await Promise.all([readSession(), readSettings()]);
  return { active: session.active, crossOriginFrames: settings.crossOriginFrames };
}

async function onCapturedStep(captured: CapturedStep, sender: chrome.runtime.MessageSender) {
  const step = sanitise(captured, sender);
  if (!step) return { recorded: false };
  const recorded = await record(step);
  if (recorded) scheduleFlush();
  return { recorded };
}

/**
 * Only the fields a step has, each cut to its limit. A value sent for a
 * masked field is dropped here too (the content script never sends one).
 */
function sanitise(captured: CapturedStep, sender: chrome.runtime.MessageSender) {
  const tabId = sender.tab?.id;
  if (tabId === undefined || typeof captured !== 'object' || captured === null) return undefined;
  const base = {
    at: Number.isFinite(captured.at) ? Math.trunc(captured.at) : Date.now(),
    tabId,
    url: redactUrl(String(sender.url ?? captured.url)).slice(0, 4096),
    selector: String(captured.selector ?? '').slice(0, 1000) || '*',
    role: String(captured.role ?? '').slice(0, 100),
    text: String(captured.text ?? '').slice(0, 200),
  };
  switch (captured.kind) {
    case 'click':
    case 'submit':
      return { kind: captured.kind, ...base };
    case 'input':
      return captured.masked === false && typeof captured.value === 'string'
        ? { kind: 'input' as const, ...base, masked: false as const, value: captured.value.slice(0, 10_000) }
        : { kind: 'input' as const, ...base, masked: true as const };
    default:
      return undefined;
  }
}

// Navigations and tab switches are seen here, where every tab's URL is known (the `tabs` permission).
chrome.tabs.onUpdated.addListener((tabId, change, tab) => {
  if (change.url && isWebUrl(change.url))
    void recordTabStep({ kind: 'navigation', tabId, url: change.url, title: tab.title ?? '' });
});
chrome.tabs.onActivated.addListener(({ tabId }) => {
  void chrome.tabs.get(tabId).then(
    (tab) => {
      if (isWebUrl(tab.url))
        void recordTabStep({ kind: 'tab-switch', tabId, url: tab.url, title: tab.title ?? '' });
    },
    () => undefined,
  );
});

async function recordTabStep(step: {
  kind: 'navigation' | 'tab-switch';
  tabId: number;
  url: string;
  title: string;
}) {
  const recorded = await record({
    ...step,
    url: redactUrl(step.url).slice(0, 4096),
    title: step.title.slice(0, 200),
    at: Date.now(),
  } as Omit<RecordedStep, 'seq'>);
  if (recorded) scheduleFlush();
}

async function onPopup(message: PopupToWorker): Promise<unknown> {
  switch (message.type) {
    case 'status?':
      return status();
    case 'pair': {
      const port = Number(message.port);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error('The port must be 1–65535.');
      await pair(port, String(message.code));
      void flush();
      return status();
    }
    case 'unpair':
      await unpair();
      return status();
    case 'start': {
      await start(message.name);
      await injectIntoActiveTab();
      await recordActiveTab();
      return status();
    }
    case 'stop':
      await stop();
      // Stop flushes what is pending.
      await flush();
      return status();
    case 'settings':
      await chrome.storage.local.set({
        [KEYS.settings]: { crossOriginFrames: message.crossOriginFrames === true },
      });
      return status();
    default:
      return undefined;
  }
}

async function status(): Promise<PopupStatus> {
  const [session, pairing, pending, delivery, settings] = await Promise.all([
    readSession(),
    readPairing(),
    pendingCount(),
    readDelivery(),
    readSettings(),
  ]);
  return {
    paired: pairing !== undefined,
    port: pairing?.port ?? DEFAULT_GATEWAY_PORT,
    recording: session.active,
    steps: session.active ? session.nextSeq - 1 : 0,
    pending,
    delivery,
    crossOriginFrames: settings.crossOriginFrames,
  };
}

/** The recording starts where the person is: the active tab's page is its first step. */
async function recordActiveTab(): Promise<void> {
  const [tab] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
  if (tab?.id !== undefined && isWebUrl(tab.url))
    await recordTabStep({ kind: 'navigation', tabId: tab.id, url: tab.url, title: tab.title ?? '' });
}

/**
 * A tab opened before the extension was installed has no content script;
 * clicking the toolbar icon grants `activeTab`, which lets `scripting` add it
 * to that one tab. Elsewhere this fails quietly.
 */
async function injectIntoActiveTab(): Promise<void> {
  const [tab] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
  if (tab?.id === undefined || !isWebUrl(tab.url)) return;
  const present = await chrome.tabs.sendMessage(tab.id, { type: 'ping' }).catch(() => undefined);
  if (present) return;
  await chrome.scripting
    .executeScript({ target: { tabId: tab.id, allFrames: true }, files: ['content-script.js'] })
    .catch(() => undefined);
}

// A worker started for any reason delivers what an earlier one left behind.
void flush();
