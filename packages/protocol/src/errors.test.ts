import { describe, expect, it } from 'vitest';
import { ApiError, ERROR_CODES, ErrorEnvelope } from './errors.js';

describe('ApiError', () => {
  it('round-trips through the wire envelope', () => {
    const original = new ApiError('VALIDATION_FAILED', 'Bad input', {
      issues: [{ path: 'email', message: 'Invalid email' }],
    });
    const wire = JSON.parse(JSON.stringify(original.toEnvelope('req-1')));
    const rebuilt = ApiError.fromEnvelope(wire);
    expect(rebuilt).toBeInstanceOf(ApiError);
    expect(rebuilt.code).toBe('VALIDATION_FAILED');
    expect(rebuilt.message).toBe('Bad input');
    expect(rebuilt.status).toBe(400);
    expect(rebuilt.requestId).toBe('req-1');
    expect(rebuilt.details).toEqual({ issues: [{ path: 'email', message: 'Invalid email' }] });
  });

  it('omits details when there are none', () => {
    expect(new ApiError('NOT_FOUND', 'Nope').toEnvelope('r')).toEqual({
      error: { code: 'NOT_FOUND', message: 'Nope', requestId: 'r' },
    });
  });

  it('refuses bodies that are not envelopes, and unknown codes', () => {
    expect(() => ApiError.fromEnvelope({ message: 'x' })).toThrow();
    expect(() =>
      ApiError.fromEnvelope({ error: { code: 'MADE_UP', message: 'x', requestId: 'r' } }),
    ).toThrow();
    expect(() => ApiError.fromEnvelope('<html>')).toThrow();
  });

  it('maps each code to an HTTP error status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    }
  });

  it('the envelope schema rejects extra top-level shapes like a stack', () => {
    const parsed = ErrorEnvelope.parse({
      error: { code: 'INTERNAL', message: 'x', requestId: 'r', stack: 'at foo' },
    });
    expect(parsed.error).not.toHaveProperty('stack');
  });
});
