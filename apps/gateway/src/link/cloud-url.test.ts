import { ApiError } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { parseCloudUrl } from './cloud-url.js';

const codeOf = (text: string) => {
  try {
    parseCloudUrl(text);
    return 'accepted';
  } catch (error) {
    return error instanceof ApiError ? error.code : String(error);
  }
};

describe('the cloud URL', () => {
  it.each([
    ['https://cloud.example.com', 'https://cloud.example.com'],
    ['https://Cloud.Example.com:443/', 'https://cloud.example.com'],
    ['https://cloud.example.com/multiclaw/', 'https://cloud.example.com/multiclaw'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://127.9.8.7:8080/', 'http://127.9.8.7:8080'],
    ['http://[::1]:8080', 'http://[::1]:8080'],
    ['http://localhost:8080', 'http://localhost:8080'],
  ])('accepts %s as %s', (text, normalised) => {
    expect(parseCloudUrl(text)).toBe(normalised);
  });

  it.each([
    'http://cloud.example.com',
    'http://10.0.0.5:8080',
    'http://192.168.1.2',
    'http://localhost.example.com',
    'http://127.0.0.1.nip.io',
    'http://[::ffff:10.0.0.1]',
    'ws://127.0.0.1:8080',
    'ftp://cloud.example.com',
  ])('refuses %s as insecure', (text) => {
    expect(codeOf(text)).toBe('LINK_CLOUD_URL_INSECURE');
  });

  it('says why in plain words', () => {
    expect(() => parseCloudUrl('http://cloud.example.com')).toThrow(/needs https/);
  });

  it.each([
    'not a url',
    'https://user:pw@cloud.example.com',
    'https://cloud.example.com/?code=x',
    'https://cloud.example.com/#x',
  ])('refuses %s as malformed', (text) => {
    expect(codeOf(text)).toBe('VALIDATION_FAILED');
  });
});
