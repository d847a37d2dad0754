import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateDirectories, resolveGatewayPaths } from './paths.js';

describe('resolveGatewayPaths', () => {
  it('defaults to ~/.openclaw/openclaw.json under HOME', () => {
    const paths = resolveGatewayPaths({ HOME: '/home/someone' });
    expect(paths).toEqual({
      stateDir: '/home/someone/.openclaw',
      configPath: '/home/someone/.openclaw/openclaw.json',
      storeDir: '/home/someone/.openclaw/store',
      crashDir: '/home/someone/.openclaw/crash',
    });
  });

  it('honours OPENCLAW_STATE_DIR for everything, config included', () => {
    const paths = resolveGatewayPaths({ HOME: '/home/someone', OPENCLAW_STATE_DIR: '/srv/claw' });
    expect(paths).toEqual({
      stateDir: '/srv/claw',
      configPath: '/srv/claw/openclaw.json',
      storeDir: '/srv/claw/store',
      crashDir: '/srv/claw/crash',
    });
  });

  it('honours OPENCLAW_CONFIG_PATH on its own, leaving the state directory alone', () => {
    const paths = resolveGatewayPaths({
      HOME: '/home/someone',
      OPENCLAW_STATE_DIR: '/srv/claw',
      OPENCLAW_CONFIG_PATH: '/etc/claw/gateway.json',
    });
    expect(paths.configPath).toBe('/etc/claw/gateway.json');
    expect(paths.stateDir).toBe('/srv/claw');
    expect(paths.storeDir).toBe('/srv/claw/store');
    expect(privateDirectories(paths)).toEqual([
      '/srv/claw',
      '/etc/claw',
      '/srv/claw/store',
      '/srv/claw/crash',
    ]);
  });

  it('makes relative overrides absolute and ignores empty ones', () => {
    const paths = resolveGatewayPaths({
      HOME: '/home/someone',
      OPENCLAW_STATE_DIR: 'rel/state',
      OPENCLAW_CONFIG_PATH: '',
    });
    expect(paths.stateDir).toBe(resolve('rel/state'));
    expect(paths.configPath).toBe(join(resolve('rel/state'), 'openclaw.json'));
  });

  it('lists each private directory once', () => {
    expect(privateDirectories(resolveGatewayPaths({ OPENCLAW_STATE_DIR: '/srv/claw' }))).toEqual([
      '/srv/claw',
      '/srv/claw/store',
      '/srv/claw/crash',
    ]);
  });
});
