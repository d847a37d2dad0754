/**
 * A caller of a JSON HTTP API (the cloud's, in tests and benchmarks): `call(method, path, token,
 * body)` sends the body as JSON and the token as a bearer, and answers the parsed JSON (undefined
 * for an empty body). Anything but a 2xx throws, naming the request, the status and the body.
 * `base` may be a function, for a server whose URL is known only once it listens.
 */
export function jsonCaller(base: string | (() => string)) {
  return async function call<T>(
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<T> {
    const response = await fetch(`${typeof base === 'string' ? base : base()}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}
