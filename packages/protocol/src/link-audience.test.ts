import { describe, expect, it } from 'vitest';
import { linkAudience } from './gateway-link.js';

describe('linkAudience', () => {
  it.each([
    ['https://cloud.example.com', 'wss://cloud.example.com/v1/gateway-link'],
    ['https://Cloud.Example.com:443/', 'wss://cloud.example.com/v1/gateway-link'],
    ['https://cloud.example.com:8443', 'wss://cloud.example.com:8443/v1/gateway-link'],
    ['http://127.0.0.1:8080', 'ws://127.0.0.1:8080/v1/gateway-link'],
    ['http://localhost:80//', 'ws://localhost/v1/gateway-link'],
    ['http://[::1]:8080/mc/', 'ws://[::1]:8080/mc/v1/gateway-link'],
    ['https://user:pw@example.com/multiclaw?x=1#y', 'wss://example.com/multiclaw/v1/gateway-link'],
  ])('%s → %s', (base, audience) => {
    expect(linkAudience(base)).toBe(audience);
  });

  it('refuses a base URL that is not http or https', () => {
    expect(() => linkAudience('ftp://example.com')).toThrow(/not http: or https:/);
    expect(() => linkAudience('wss://example.com')).toThrow(/not http: or https:/);
    expect(() => linkAudience('not a url')).toThrow();
  });
});
