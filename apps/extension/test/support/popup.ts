import type { Page } from 'playwright-core';

const VISIBLE = { timeout: 30_000 };

/** Start recording from the popup, as a person does: a name, then Start; waits until the popup shows Stop. */
export async function startRecording(popup: Page, name: string): Promise<void> {
  await popup.bringToFront();
  await popup.getByLabel('Recording name').fill(name);
  await popup.getByRole('button', { name: 'Start recording' }).click();
  await popup.getByRole('button', { name: 'Stop recording' }).waitFor(VISIBLE);
}

/** Stop from the popup; waits until it offers Start again (Stop has flushed by then). */
export async function stopRecording(popup: Page): Promise<void> {
  await popup.bringToFront();
  await popup.getByRole('button', { name: 'Stop recording' }).click();
  await popup.getByRole('button', { name: 'Start recording' }).waitFor(VISIBLE);
}
