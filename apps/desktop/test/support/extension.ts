/** A paired extension's origin, as Chrome sends it (32 letters a–p). */
export const EXTENSION_ORIGIN = `chrome-extension://${'abcdefghijklmnop'.repeat(2)}`;

/**
 * What the extension's service worker sends the gateway, over real HTTP with
 * its Origin: `pair` exchanges a pairing code for its token, `append`
 * delivers steps of a recording.
 */
export function extensionClient(gatewayUrl: string) {
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${gatewayUrl}${path}`, {
      method: 'POST',
      headers: {
        origin: EXTENSION_ORIGIN,
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
  return {
    async pair(code: string): Promise<{ status: number; token?: string }> {
      const answer = await post('/v1/extension/pair', { code });
      return answer.ok
        ? { status: answer.status, token: ((await answer.json()) as { token: string }).token }
        : { status: answer.status };
    },
    append(token: string, recordingId: string, name: string, steps: unknown[]) {
      return post(
        `/v1/extension/recordings/${recordingId}/steps`,
        { name, startedAt: Date.now(), steps },
        token,
      );
    },
  };
}
