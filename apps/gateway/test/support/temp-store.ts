import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { LocalStore } from '../../src/store/local-store.js';

/**
 * A fresh store directory for each test of the calling file, removed after
 * it with every store the test opened. `warnings` collects what the store
 * reports while opening (damage contained, partial replies dropped).
 */
export function useTempStore(prefix: string) {
  const opened: LocalStore[] = [];
  const fixture = {
    dir: '',
    warnings: [] as string[],
    async open(): Promise<LocalStore> {
      const store = await LocalStore.open(fixture.dir, { warn: (message) => fixture.warnings.push(message) });
      opened.push(store);
      return store;
    },
    /** Closes `store` for good (the test goes on without it). */
    async close(store: LocalStore): Promise<void> {
      await store.close();
      opened.splice(opened.indexOf(store), 1);
    },
    /** Closes `store` and opens the same directory again, as a restart would. */
    async reopen(store: LocalStore): Promise<LocalStore> {
      await fixture.close(store);
      return fixture.open();
    },
  };
  beforeEach(async () => {
    fixture.dir = await mkdtemp(join(tmpdir(), prefix));
    fixture.warnings.length = 0;
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await rm(fixture.dir, { recursive: true, force: true });
  });
  return fixture;
}
