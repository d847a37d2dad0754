import { ApiError } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { ProtocolRefusal, toProtocolError } from './protocol-errors.js';

describe('errors in OpenClaw’s shape', () => {
  it.each([
    ['VALIDATION_FAILED', 'INVALID_REQUEST', false],
    ['NOT_FOUND', 'INVALID_REQUEST', false],
    // A conflict with the configuration: retrying cannot fix it, so no client should loop on it.
    ['AGENT_PROVIDER_MISSING', 'INVALID_REQUEST', false],
    ['IDEMPOTENCY_KEY_REUSED', 'INVALID_REQUEST', false],
    ['SESSION_BUSY', 'UNAVAILABLE', true],
    ['PROVIDER_RATE_LIMITED', 'UNAVAILABLE', true],
    ['PROVIDER_AUTH_FAILED', 'UNAVAILABLE', false],
    ['SERVICE_UNAVAILABLE', 'UNAVAILABLE', true],
    ['REQUEST_TIMEOUT', 'AGENT_TIMEOUT', true],
  ] as const)('%s is %s, retryable %s, with our code in details.code', (ours, theirs, retryable) => {
    const shape = toProtocolError(new ApiError(ours, 'message'));
    expect(shape).toMatchObject({ code: theirs, details: { code: ours } });
    expect(shape.retryable ?? false).toBe(retryable);
  });

  it('turns retryAfterSeconds into retryAfterMs, and hides what an unexpected error says', () => {
    expect(
      toProtocolError(new ApiError('PROVIDER_RATE_LIMITED', 'slow down', { retryAfterSeconds: 7 })),
    ).toMatchObject({
      retryAfterMs: 7000,
    });
    const hidden = toProtocolError(new Error('secret path /home/me/.openclaw'));
    expect(hidden.message).not.toContain('secret');
    expect(hidden).toMatchObject({ code: 'UNAVAILABLE', details: { code: 'INTERNAL' } });
  });

  it('keeps a handshake refusal’s own detail code', () => {
    expect(
      new ProtocolRefusal('NOT_PAIRED', 'device identity required', 'DEVICE_IDENTITY_REQUIRED').toShape(),
    ).toEqual({
      code: 'NOT_PAIRED',
      message: 'device identity required',
      details: { code: 'DEVICE_IDENTITY_REQUIRED' },
    });
  });
});
