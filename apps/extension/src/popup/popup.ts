import type { PopupStatus, PopupToWorker } from '../shared/messages.js';

/**
 * The popup: pair and unpair, start and stop, and what is happening (steps
 * recorded, delivery). It holds nothing itself: every action is a message to
 * the service worker, whose answer is the new status.
 */

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * Answers can arrive out of order: a status read while Stop is still
 * flushing must not show "Not recording" before Stop has finished, nor an
 * older status overwrite a newer one. So an action (start, stop, pair…)
 * disables the controls until its own answer, which is drawn; a status
 * answer is drawn only if it is the newest status asked and no action ran
 * or answered since it was asked.
 */
let asked = 0;
let newestStatus = 0;
let actionsRunning = 0;
let lastActionAnswered = 0;

async function ask(message: PopupToWorker): Promise<void> {
  const action = message.type !== 'status?';
  const ticket = ++asked;
  if (action) setBusy(++actionsRunning > 0);
  else newestStatus = ticket;
  const answer = (await chrome.runtime.sendMessage(message).catch((error: Error) => ({
    error: error.message,
  }))) as (PopupStatus & { error?: string }) | undefined;
  if (action) {
    lastActionAnswered = ++asked;
    setBusy(--actionsRunning > 0);
  } else if (actionsRunning > 0 || ticket !== newestStatus || ticket < lastActionAnswered) return;
  const error = $<HTMLParagraphElement>('error');
  error.hidden = !answer?.error;
  error.textContent = answer?.error ?? '';
  if (answer && !answer.error) render(answer);
}

/** While an action runs, its controls cannot be used again. */
function setBusy(busy: boolean): void {
  document.body.setAttribute('aria-busy', String(busy));
  for (const id of ['start', 'stop', 'unpair', 'pair', 'cross-origin'])
    $<HTMLButtonElement | HTMLInputElement>(id).disabled = busy;
}

function render(status: PopupStatus): void {
  $('pair-form').hidden = status.paired;
  $('paired').hidden = !status.paired;
  $('paired-text').textContent = `Paired with the gateway on port ${status.port}.`;
  const port = $<HTMLInputElement>('port');
  if (!port.value) port.value = String(status.port);

  const state = $('recording-state');
  state.textContent = status.recording
    ? `Recording: ${status.steps} ${status.steps === 1 ? 'step' : 'steps'}`
    : 'Not recording';
  state.classList.toggle('recording', status.recording);
  $('start').hidden = status.recording;
  $('stop').hidden = !status.recording;
  $<HTMLInputElement>('name').disabled = status.recording;
  $<HTMLInputElement>('cross-origin').checked = status.crossOriginFrames;

  const { delivery } = status;
  $('delivery').textContent =
    status.pending === 0
      ? delivery.lastDeliveredAt
        ? 'All steps delivered'
        : 'Nothing to deliver'
      : `${status.pending} ${status.pending === 1 ? 'step' : 'steps'} waiting: ${delivery.state}${delivery.detail ? ` (${delivery.detail})` : ''}`;
  const dropped = $('dropped');
  dropped.hidden = delivery.dropped === 0;
  dropped.textContent = `${delivery.dropped} undelivered ${delivery.dropped === 1 ? 'step was' : 'steps were'} dropped after waiting 7 days.`;
}

$<HTMLFormElement>('pair-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void ask({
    type: 'pair',
    port: Number($<HTMLInputElement>('port').value),
    code: $<HTMLInputElement>('code').value,
  });
});
$('unpair').addEventListener('click', () => void ask({ type: 'unpair' }));
$('start').addEventListener(
  'click',
  () => void ask({ type: 'start', name: $<HTMLInputElement>('name').value }),
);
$('stop').addEventListener('click', () => void ask({ type: 'stop' }));
$<HTMLInputElement>('cross-origin').addEventListener('change', (event) =>
  ask({ type: 'settings', crossOriginFrames: (event.target as HTMLInputElement).checked }),
);
// Steps and delivery change while the popup is open.
chrome.storage.onChanged.addListener(() => void ask({ type: 'status?' }));
void ask({ type: 'status?' });
