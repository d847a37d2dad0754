import { type LocalFileServer, startFileServer } from '@multiclaw/test-support/file-server';
import { layOutRelease, type MinisignSecretKey } from '@multiclaw/updater/signing';

const PLATFORM = `${process.platform}-${process.arch}`;

/** A "gateway build" for tests: answers --version like the real one, or fails to start. */
function standIn(version: string, starts: boolean): Buffer {
  return Buffer.from(
    starts
      ? `if (process.argv.includes('--version')) console.log(${JSON.stringify(version)});\n`
      : `throw new Error('cannot find module ./missing-piece.js');\n`,
  );
}

export interface GatewayUpdateFeed {
  /** The feed's base URL, for `update.feed` in openclaw.json. */
  url: string;
  /** Every path asked for, in order. */
  requests: string[];
  /** Serves a signed release of a stand-in gateway for this platform on the "stable" channel. */
  publish(version: string, key: MinisignSecretKey, options?: { starts?: boolean }): void;
  close(): Promise<void>;
}

/**
 * An update feed on 127.0.0.1 serving signed gateway releases laid out as
 * `multiclaw-release manifest` lays them out (the stand-in for a release host
 * on the internet), for the gateway's and the desktop's update tests.
 */
export async function startGatewayUpdateFeed(): Promise<GatewayUpdateFeed> {
  const server: LocalFileServer = await startFileServer();
  return {
    url: `${server.origin}/feed`,
    requests: server.requests,
    publish(version, key, options = {}) {
      const files = layOutRelease({
        product: 'gateway',
        version,
        channel: 'stable',
        expires: new Date(Date.now() + 7 * 86_400_000),
        artifacts: [
          {
            platform: PLATFORM,
            name: `multiclaw-gateway-${version}.mjs`,
            data: standIn(version, options.starts ?? true),
          },
        ],
        key,
      });
      for (const [path, data] of files) server.files.set(`/feed/${path}`, data);
    },
    close: () => server.close(),
  };
}
