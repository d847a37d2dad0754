import type { PopupStatus, PopupToWorker } from '../shared/messages.js';

/**
 * The popup: pair and unpair, start and stop, and what is happening (steps
 * recorded, delivery). It holds nothing itself: every action is a message to
 * the service worker, whose answer is the new status.
 */

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function ask(message: PopupToWorker): Promise<void> {
  const answer = (await chrome.runtime.sendMessage(message)) as
    | (PopupStatus & { error?: string })
    | undefined;
  const error = $<HTMLParagraphElement>('error');
  error.hidden = !answer?.error;
  error.textContent = answer?.error ?? '';
  if (answer && !answer.error) render(answer);
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
