import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedStep } from '@multiclaw/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingStore } from './recording-store.js';
import { renderSkills } from './skill-format.js';

const PAIRING = randomUUID();
const click = (seq: number): RecordedStep => ({
  kind: 'click',
  seq,
  at: 1_700_000_000_000 + seq,
  tabId: 7,
  url: 'https://shop.example/cart',
  selector: '#checkout',
  role: 'button',
  text: 'Checkout',
});
const batch = (steps: RecordedStep[]) => ({ startedAt: 1_700_000_000_000, name: 'Buy milk', steps });

let dir: string;
let warnings: string[];
const open = () => RecordingStore.open(dir, { warn: (message) => warnings.push(message) });
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mc-recordings-'));
  warnings = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recording store', () => {
  it('keeps steps, names, attachments and deletions across a reopen; files are 0600', async () => {
    const store = await open();
    const kept = randomUUID();
    const gone = randomUUID();
    await store.appendSteps(kept, PAIRING, batch([click(1), click(2)]));
    await store.appendSteps(kept, PAIRING, batch([click(3)]));
    await store.appendSteps(gone, PAIRING, batch([click(1)]));
    await store.rename(kept, 'Order milk');
    await store.attach(kept, 'main');
    await store.delete(gone);
    await store.close();

    const reopened = await open();
    expect(
      reopened.list().map(({ id, name, stepCount, agentIds }) => ({ id, name, stepCount, agentIds })),
    ).toEqual([{ id: kept, name: 'Order milk', stepCount: 3, agentIds: ['main'] }]);
    expect((await reopened.get(kept)).steps.map((step) => step.seq)).toEqual([1, 2, 3]);
    expect(await readdir(join(dir, 'steps'))).toEqual([`${kept}.log`]);
    expect((await stat(join(dir, 'steps', `${kept}.log`))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'index.log'))).mode & 0o777).toBe(0o600);
    await expect(reopened.get(gone)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stores a resent or reordered batch once, in seq order', async () => {
    const store = await open();
    const id = randomUUID();
    await store.appendSteps(id, PAIRING, batch([click(2), click(1)]));
    const again = await store.appendSteps(id, PAIRING, batch([click(1), click(2), click(3)]));
    expect(again).toEqual({ recordingId: id, lastSeq: 3, stored: 1 });
    expect((await store.get(id)).steps.map((step) => step.seq)).toEqual([1, 2, 3]);
  });

  it('drops a torn step at the end (a crash mid-append) and keeps the rest', async () => {
    const store = await open();
    const id = randomUUID();
    await store.appendSteps(id, PAIRING, batch([click(1), click(2)]));
    await store.close();
    await appendFile(join(dir, 'steps', `${id}.log`), '0badc0de {"kind":"cli');
    const reopened = await open();
    expect(warnings.join('\n')).toMatch(/torn record/);
    expect(reopened.list()[0]?.stepCount).toBe(2);
    // The next append goes where the torn bytes were.
    await reopened.appendSteps(id, PAIRING, batch([click(3)]));
    expect((await reopened.get(id)).steps.map((step) => step.seq)).toEqual([1, 2, 3]);
    expect(await readFile(join(dir, 'steps', `${id}.log`), 'utf8')).not.toContain('"kind":"cli\n');
  });

  it('refuses a recording made by another pairing as if it did not exist', async () => {
    const store = await open();
    const id = randomUUID();
    await store.appendSteps(id, PAIRING, batch([click(1)]));
    await expect(store.appendSteps(id, randomUUID(), batch([click(2)]))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('renders attached recordings as the documented skill block, a masked field without any value', async () => {
    const store = await open();
    const id = randomUUID();
    await store.appendSteps(id, PAIRING, {
      startedAt: 1_700_000_000_000,
      name: 'Sign in',
      steps: [
        { kind: 'navigation', seq: 1, at: 1, tabId: 1, url: 'https://app.example/login', title: 'Log in' },
        {
          kind: 'input',
          seq: 2,
          at: 2,
          tabId: 1,
          url: 'https://app.example/login',
          selector: '#user',
          role: 'textbox',
          text: 'Email',
          masked: false,
          value: 'ada@example.com',
        },
        {
          kind: 'input',
          seq: 3,
          at: 3,
          tabId: 1,
          url: 'https://app.example/login',
          selector: '#pw',
          role: 'textbox',
          text: 'Password',
          masked: true,
        },
        {
          kind: 'submit',
          seq: 4,
          at: 4,
          tabId: 1,
          url: 'https://app.example/login',
          selector: '#login',
          role: 'form',
          text: '',
        },
      ],
    });
    await store.attach(id, 'main');
    expect(renderSkills(await store.attachedTo('other'))).toBeUndefined();
    expect(renderSkills(await store.attachedTo('main'))).toBe(
      [
        'The person showed you how they do these tasks in their browser. Each skill lists their steps in order.',
        '',
        '## Skill: Sign in',
        '1. Go to https://app.example/login ("Log in")',
        '2. Type "ada@example.com" into the textbox "Email" at `#user`',
        '3. Fill the textbox "Password" at `#pw` with the person\'s own value (masked: ask them, never guess)',
        '4. Submit the form at `#login`',
      ].join('\n'),
    );
  });
});
