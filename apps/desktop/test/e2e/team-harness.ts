import { randomBytes } from 'node:crypto';
import { LoginResponse } from '@multiclaw/protocol';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import type { Page } from 'playwright-core';
import type { TestCloud } from '../../../gateway/test/support/cloud.js';
import type { startUiWorld } from './ui-harness.js';

type UiWorld = Awaited<ReturnType<typeof startUiWorld>>;

/** A person with an account at the test cloud: what they type, and a token for setting things up over the API. */
export interface Person {
  email: string;
  password: string;
  id: string;
  /** An access token of the person's own session (set-up and checks only; the UI never sees one). */
  token: string;
}

/** Registers a person at the cloud over its real API and signs them in once (for set-up calls). */
export async function registerPerson(cloud: TestCloud, label: string): Promise<Person> {
  const call = jsonCaller(cloud.url);
  const email = `${label}-${randomBytes(4).toString('hex')}@example.com`;
  const password = `${label} passphrase 7 ${randomBytes(3).toString('hex')}`;
  await call('POST', '/v1/auth/register', undefined, { email, password });
  const login = LoginResponse.parse(await call('POST', '/v1/auth/login', undefined, { email, password }));
  return { email, password, id: login.user.id, token: login.accessToken };
}

/** Points the desktop host at the cloud and signs the person in there (the host's session, as the Team screen's form does). */
export async function signInHost(world: UiWorld, cloud: TestCloud, person: Person): Promise<void> {
  const chosen = await world.t.call('settings.update', { cloudUrl: cloud.url });
  if (chosen.status !== 200) throw new Error(`settings.update: ${JSON.stringify(chosen.body)}`);
  const signed = await world.t.call('account.signIn', { email: person.email, password: person.password });
  if (signed.status !== 200) throw new Error(`account.signIn: ${JSON.stringify(signed.body)}`);
}

/** Opens the main window on the Team screen with `workspace` chosen and, when given, one of its sections. */
export async function openTeam(world: UiWorld, workspace: string, section?: string): Promise<Page> {
  const page = await world.browser.newPage();
  await page.goto(world.t.desktop.windowUrl('main'));
  await page.getByRole('tab', { name: 'Team' }).click();
  const picker = page.getByRole('button', { name: /Workspace/ });
  await picker.waitFor({ timeout: 30_000 });
  if (!(await picker.textContent())?.includes(workspace)) {
    await picker.click();
    await page.getByRole('option', { name: new RegExp(`^${workspace} \\(`) }).click();
  }
  if (section) await page.getByRole('tab', { name: section }).click();
  return page;
}

/**
 * Points the world's gateway's own `openai-compatible` provider entry at the
 * world's fake model server, with no key of its own: a workspace agent of that
 * kind runs there with the key its vault secret brings over the link.
 */
export async function serveWorkspaceAgentsLocally(world: UiWorld): Promise<void> {
  await world.t.config.update((config) => ({
    ...config,
    models: {
      ...config.models,
      providers: {
        ...config.models.providers,
        'openai-compatible': {
          api: 'openai-completions',
          baseUrl: world.provider.baseUrl,
          allowedAgents: [],
        },
      },
    },
  }));
}
