import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Page, PageQuery } from './pagination.js';

describe('PageQuery', () => {
  it('defaults and coerces the limit from a query string', () => {
    expect(PageQuery.parse({})).toEqual({ limit: 50 });
    expect(PageQuery.parse({ limit: '10', cursor: 'abc' })).toEqual({ limit: 10, cursor: 'abc' });
  });

  it('refuses limits outside 1..100 and empty cursors', () => {
    for (const limit of ['0', '101', '-1', '2.5', 'ten']) {
      expect(PageQuery.safeParse({ limit }).success, limit).toBe(false);
    }
    expect(PageQuery.safeParse({ cursor: '' }).success).toBe(false);
  });
});

describe('Page', () => {
  it('wraps items with a nullable cursor', () => {
    const Numbers = Page(z.number());
    expect(Numbers.parse({ items: [1, 2], nextCursor: null })).toEqual({ items: [1, 2], nextCursor: null });
    expect(Numbers.safeParse({ items: ['1'], nextCursor: null }).success).toBe(false);
    expect(Numbers.safeParse({ items: [] }).success).toBe(false);
  });
});
