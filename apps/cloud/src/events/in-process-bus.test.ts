import { createLogger } from '@multiclaw/runtime/logger';
import { afterAll, describe, expect, it } from 'vitest';
import { agentsChanged, busContract } from './bus-contract.js';
import { createInProcessBus } from './in-process-bus.js';

const bus = createInProcessBus({ logger: createLogger({ level: 'silent' }) });
afterAll(() => bus.close());

describe('in-process event bus', () => {
  busContract(() => ({ a: bus, b: bus }));

  it('delivers after publish resolves, as a network bus would', async () => {
    const heard: string[] = [];
    const off = bus.subscribe(() => heard.push('delivered'));
    await bus.publish(agentsChanged());
    heard.push('published');
    await new Promise((resolve) => setImmediate(resolve));
    off();
    expect(heard).toEqual(['published', 'delivered']);
  });

  it('hands listeners a copy, never the published object', async () => {
    const message = agentsChanged();
    const copies: unknown[] = [];
    const seen = new Promise<void>((resolve) => {
      const offs = [0, 1].map(() =>
        bus.subscribe((m) => {
          copies.push(m);
          if (copies.length === 2) {
            for (const off of offs) off();
            resolve();
          }
        }),
      );
    });
    await bus.publish(message);
    await seen;
    expect(copies[0]).toEqual(message);
    expect(copies[0]).not.toBe(message);
  });

  it('refuses to publish once closed', async () => {
    const closing = createInProcessBus({ logger: createLogger({ level: 'silent' }) });
    await closing.close();
    await expect(closing.publish(agentsChanged())).rejects.toThrow(/closed/);
  });
});
