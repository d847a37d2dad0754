import {
  DESKTOP_IPC_PREFIX,
  DESKTOP_SECRET_HEADER,
  type DesktopCommand,
  type DesktopCommandInput,
  type DesktopCommandOutput,
  DesktopCommands,
} from '@multiclaw/protocol/desktop';
import { ErrorEnvelope } from '@multiclaw/protocol/errors';
import { windowSecret } from './secret';

/** A command that failed, with words a person can read. */
export class IpcError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

/**
 * What the page says when the host refuses this window. Only the host's own
 * refusal of the window secret means "reopen the window"; a 401 the cloud gave
 * (a wrong password, a session that ended) comes through in its own words.
 */
function refusal(status: number, code: string, message: string): IpcError {
  if (status === 401 && code === 'DESKTOP_SECRET_INVALID')
    return new IpcError(
      'This window is not signed in to the desktop host (its secret is missing or stale). Close it and open MultiClaw again.',
      code,
      status,
    );
  return new IpcError(message, code, status);
}

/**
 * Calls a command of the host: `POST /ipc/<command>` with the window secret
 * in its header. The input is checked against the command's schema before it
 * leaves, and the answer against its output schema when it comes back.
 */
export async function invoke<C extends DesktopCommand>(
  command: C,
  input: DesktopCommandInput<C>,
): Promise<DesktopCommandOutput<C>> {
  const schema = DesktopCommands[command];
  const body = schema.input.safeParse(input);
  if (!body.success) {
    const first = body.error.issues[0];
    throw new IpcError(
      first ? `${first.path.join('.') || 'input'}: ${first.message}` : 'The input is not valid',
      'VALIDATION_FAILED',
      0,
    );
  }
  let response: Response;
  try {
    response = await fetch(`${DESKTOP_IPC_PREFIX}${command}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [DESKTOP_SECRET_HEADER]: windowSecret() ?? '' },
      body: JSON.stringify(body.data),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new IpcError(
      'The desktop host does not answer. Is MultiClaw still running? Start it again with "pnpm start".',
      'HOST_UNREACHABLE',
      0,
    );
  }
  const json: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const envelope = ErrorEnvelope.safeParse(json);
    if (envelope.success) {
      throw refusal(response.status, envelope.data.error.code, envelope.data.error.message);
    }
    throw refusal(
      response.status,
      'INTERNAL',
      `The desktop host failed to answer (HTTP ${response.status}).`,
    );
  }
  const output = schema.output.safeParse(json);
  if (!output.success)
    throw new IpcError('The desktop host gave an answer this window does not understand.', 'INTERNAL', 0);
  return output.data as DesktopCommandOutput<C>;
}

/** The words to show for any failure. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
