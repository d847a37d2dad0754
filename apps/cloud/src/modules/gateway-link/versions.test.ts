import { ApiError } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { negotiateLinkVersion } from './versions.js';

const refusal = (header: string | string[] | undefined, cloud: number[]) => {
  try {
    negotiateLinkVersion(header, cloud);
  } catch (error) {
    if (error instanceof ApiError) return error;
  }
  throw new Error('no refusal');
};

describe('negotiateLinkVersion', () => {
  it.each([
    ['1', [1], 1],
    [' 1 , 2 ', [1, 2], 2],
    ['2,1', [1, 2, 3], 2],
    ['1,,x,-3,2.5,3', [1, 3], 3],
    [['1', '2'], [2], 2],
  ] as const)('%j with a cloud speaking %j picks %i', (header, cloud, expected) => {
    expect(negotiateLinkVersion(typeof header === 'string' ? header : [...header], [...cloud])).toBe(
      expected,
    );
  });

  it('refuses with both lists when nothing is in common, and says when the gateway stated none', () => {
    const other = refusal('4, 5', [1, 2]);
    expect(other.code).toBe('LINK_VERSION_UNSUPPORTED');
    expect(other.status).toBe(426);
    expect(other.details).toEqual({ gateway: [4, 5], cloud: [1, 2] });
    expect(other.message).toContain('versions 4, 5; this cloud speaks 1, 2');
    for (const header of [undefined, '', 'one, two']) {
      const none = refusal(header, [1]);
      expect(none.details).toEqual({ gateway: [], cloud: [1] });
      expect(none.message).toContain('none stated');
    }
  });
});
