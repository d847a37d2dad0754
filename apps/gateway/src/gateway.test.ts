import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway } from '../test/support/gateway.js';
import { ConfigFile } from './config/config-file.js';
import { resolveGatewayPaths } from './config/paths.js';
import { ConfigError } from './config/schema.js';
import { startGateway } from './gateway.js';

const externalIPv4 = Object.values(networkInterfaces())
  .flat()
  .find((address) => address && !address.internal && address.family === 'IPv4')?.address;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe('listening', () => {
  it('listens on 127.0.0.1 and ::1 by default, both serving the same API', async () => {
    const test = await startTestGateway();
    cleanup.push(test.close);
    expect(test.gateway.addresses).toEqual(['127.0.0.1', '::1']);
    for (const host of ['127.0.0.1', '[::1]']) {
      const response = await fetch(`http://${host}:${test.port}/v1/models`, { headers: test.authHeaders });
      expect(response.status, host).toBe(200);
    }
  });

  it.skipIf(!externalIPv4)(
    'refuses a non-loopback bind unless allowNonLoopback says so, then warns',
    async () => {
      const stateDir = await mkdtemp(join(tmpdir(), 'mc-gateway-bind-'));
      cleanup.push(() => rm(stateDir, { recursive: true, force: true }));
      const paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir });
      const config = await ConfigFile.open(paths);
      const base = config.cached();
      await writeFile(
        paths.configPath,
        JSON.stringify({ ...base, gateway: { ...base.gateway, bind: externalIPv4 } }),
        { mode: 0o600 },
      );
      const logs: { level: number; msg: string }[] = [];
      const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
      const refused = await startGateway({ paths, log, port: 0 }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as ConfigError).problems.join('\n')).toContain('gateway.bind');

      await writeFile(
        paths.configPath,
        JSON.stringify({ ...base, gateway: { ...base.gateway, bind: externalIPv4, allowNonLoopback: true } }),
        { mode: 0o600 },
      );
      const gateway = await startGateway({ paths, log, port: 0 });
      cleanup.push(() => gateway.close());
      expect(gateway.addresses).toEqual([externalIPv4]);
      expect(logs.some((line) => line.level === 40 && line.msg.includes('non-loopback'))).toBe(true);
      const token = gateway.config.cached().gateway.auth.token;
      const response = await fetch(`http://${externalIPv4}:${gateway.port}/v1/models`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
    },
  );
});
