import { ApiError, DesktopCloudUrl, ErrorEnvelope } from '@multiclaw/protocol';

/**
 * The host's one door to the cloud: every request goes to the cloud the
 * person chose (https, or plain http to this machine in development, as
 * `DesktopCloudUrl` says) and to nowhere else. `src/cloud/cloud-egress.test.ts`
 * proves no other host file calls `fetch`.
 */
export function cloudBase(cloudUrl: string): string {
  const parsed = DesktopCloudUrl.safeParse(cloudUrl);
  if (!parsed.success)
    throw new ApiError(
      'DESKTOP_CLOUD_NOT_CONFIGURED',
      `The cloud address "${cloudUrl}" is not allowed: ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data.replace(/\/+$/, '');
}

export interface CloudAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** `method path` at `base` (already checked by `cloudBase`); the path must stay on that origin. */
export async function cloudFetch(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; query?: Record<string, string | number | undefined> } = {},
): Promise<CloudAnswer> {
  const url = new URL(`${base}${path}`);
  if (url.origin !== new URL(base).origin || !path.startsWith('/'))
    throw new ApiError('INTERNAL', 'A cloud request left the configured cloud');
  for (const [name, value] of Object.entries(options.query ?? {}))
    if (value !== undefined) url.searchParams.set(name, String(value));
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new ApiError(
      'DESKTOP_CLOUD_UNREACHABLE',
      `Could not reach the cloud at ${base} (${cause}). Check the address and your network.`,
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(
      'DESKTOP_CLOUD_UNREACHABLE',
      `${base} answered HTTP ${response.status} with something that is not MultiClaw Cloud`,
    );
  }
  return { status: response.status, body, headers: response.headers };
}

/** The cloud's refusal in the project's envelope, its code kept, its message in plain words. */
export function cloudRefusal(base: string, answer: CloudAnswer): ApiError {
  const envelope = ErrorEnvelope.safeParse(answer.body);
  if (!envelope.success)
    return new ApiError(
      'DESKTOP_CLOUD_UNREACHABLE',
      `${base} answered HTTP ${answer.status} with something that is not MultiClaw Cloud`,
    );
  const { code, message, details } = envelope.data.error;
  return new ApiError(code, plainWords(code, message, answer.headers), details);
}

function plainWords(code: string, message: string, headers: Headers): string {
  switch (code) {
    case 'RATE_LIMITED': {
      const seconds = Number(headers.get('retry-after'));
      return Number.isFinite(seconds) && seconds > 0
        ? `Too many attempts. Wait ${seconds} second${seconds === 1 ? '' : 's'} and try again.`
        : 'Too many attempts. Wait a minute and try again.';
    }
    case 'AUTH_INVALID_CREDENTIALS':
      return 'The email or password is wrong, or the account is locked for a while after too many failed attempts. Check them, or wait and try again.';
    case 'FORBIDDEN':
      return 'Your role in this workspace does not allow this. Ask an owner of the workspace.';
    default:
      return message;
  }
}
