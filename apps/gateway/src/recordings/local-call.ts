import { EXIT } from '../cli/exit-codes.js';
import { GatewayCallError, GatewayClient } from '../cli/gateway-client.js';
import { localEgress, localGatewayOrigin } from '../cli/local-client.js';
import { readConfigFile } from '../config/config-file.js';
import type { GatewayPaths } from '../config/paths.js';

/** Why a CLI call to the running gateway failed, and the exit code that says so. */
export class LocalCallFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * One control-protocol call to the gateway running for this config, with the
 * gateway token and exactly the scope the method needs. The running gateway
 * is the only writer of recordings and pairings, so the CLI goes through it.
 */
export async function callLocalGateway(
  paths: GatewayPaths,
  method: string,
  params: unknown,
  scope: string,
): Promise<unknown> {
  const config = await readConfigFile(paths);
  if (!config)
    throw new LocalCallFailed(`no config at ${paths.configPath}: start the gateway first`, EXIT.UNAVAILABLE);
  const origin = localGatewayOrigin(config);
  let client: GatewayClient | undefined;
  try {
    client = await GatewayClient.connect(localEgress([origin]), `${origin.replace(/^http/, 'ws')}/`, {
      token: config.gateway.auth.token,
      scopes: [scope],
    });
    return await client.call(method, params);
  } catch (error) {
    // A refused call (no such recording, a bad name…): exit 1 with the gateway's words.
    if (error instanceof GatewayCallError && client)
      throw new LocalCallFailed(`${error.detailCode ?? error.error.code}: ${error.message}`, 1);
    if (error instanceof GatewayCallError)
      throw new LocalCallFailed(`the gateway refused this CLI: ${error.message}`, EXIT.UNAVAILABLE);
    throw new LocalCallFailed(
      `no gateway answers on ${origin} (${(error as Error).message}): start it with "multiclaw-gateway start"`,
      EXIT.UNAVAILABLE,
    );
  } finally {
    client?.close();
  }
}

/** Runs a CLI action that calls the gateway: prints its failure on one line and answers the exit code. */
export async function cliAction(work: () => Promise<unknown>): Promise<number> {
  try {
    await work();
    return EXIT.OK;
  } catch (error) {
    if (!(error instanceof LocalCallFailed)) throw error;
    process.stderr.write(`${error.message}\n`);
    return error.exitCode;
  }
}
