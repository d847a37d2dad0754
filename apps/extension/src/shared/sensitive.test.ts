import { describe, expect, it } from 'vitest';
import { isSensitiveField, redactUrl } from './sensitive.js';

const field = (facts: Partial<Parameters<typeof isSensitiveField>[0]>) =>
  isSensitiveField({ tag: 'input', type: 'text', autocomplete: '', names: [], ...facts });

describe('sensitive fields', () => {
  it('masks passwords, files, one-time codes and card data by type or autocomplete', () => {
    expect(field({ type: 'password' })).toBe(true);
    expect(field({ type: 'PASSWORD' })).toBe(true);
    expect(field({ type: 'file' })).toBe(true);
    for (const autocomplete of [
      'cc-number',
      'cc-csc',
      'cc-exp',
      'one-time-code',
      'section-a current-password',
      'new-password',
    ])
      expect(field({ autocomplete }), autocomplete).toBe(true);
  });

  it('masks by the names a person or a developer gives a secret field', () => {
    for (const name of [
      'cardNumber',
      'card_cvv',
      'cvc',
      'ssn',
      'social_security',
      'api_token',
      'client-secret',
      'otp',
      'pin',
      'iban',
      'account_number',
      'Passcode',
      'Security code',
    ])
      expect(field({ names: [name] }), name).toBe(true);
  });

  it('keeps ordinary fields', () => {
    for (const name of [
      'email',
      'username',
      'search',
      'first name',
      'city',
      'quantity',
      'spinner',
      'opinion',
    ])
      expect(field({ names: [name], autocomplete: 'email' }), name).toBe(false);
  });

  it('masks sensitive query parameters and token fragments in URLs, keeps the rest', () => {
    expect(redactUrl('https://a.example/cb?code=abc&state=xyz&page=2')).toBe(
      'https://a.example/cb?code=%5Bmasked%5D&state=%5Bmasked%5D&page=2',
    );
    expect(redactUrl('https://a.example/login?user=ada&password=hunter2')).not.toContain('hunter2');
    expect(redactUrl('https://a.example/#access_token=t0k&x=1')).toBe('https://a.example/#[masked]');
    expect(redactUrl('https://a.example/search?q=milk')).toBe('https://a.example/search?q=milk');
  });
});
