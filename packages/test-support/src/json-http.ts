type Base = string | (() => string);

/**
 * One JSON request, whatever its answer: the body sent as JSON, the token as a bearer;
 * answers the status and the parsed body (`{}` for an empty one). For tests that look at refusals.
 * `base` may be a function, for a server whose URL is known only once it listens.
 */
export function jsonExchanger(base: Base) {
  return async function exchange(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; ok: boolean; text: string; body: Record<string, unknown> }> {
    const response = await fetch(`${typeof base === 'string' ? base : base()}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      ok: response.ok,
      text,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  };
}

/**
 * A caller of a JSON HTTP API (the cloud's, in tests and benchmarks): `call(method, path, token,
 * body)` answers the parsed JSON (undefined for an empty body). Anything but a 2xx throws, naming
 * the request, the status and the body.
 */
export function jsonCaller(base: Base) {
  const exchange = jsonExchanger(base);
  return async function call<T>(
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<T> {
    const answer = await exchange(method, path, token, body);
    if (!answer.ok) throw new Error(`${method} ${path}: HTTP ${answer.status} ${answer.text}`);
    return (answer.text ? answer.body : undefined) as T;
  };
}
