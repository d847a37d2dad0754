import { describe, expect, it } from 'vitest';
import { ChatCompletionChunk, ChatCompletionRequest } from './openai.js';

const ask = { model: 'helper', messages: [{ role: 'user', content: 'What is it?' }] };

describe('ChatCompletionRequest', () => {
  it('takes what OpenAI clients send, nulls for unset parameters included', () => {
    const request = {
      ...ask,
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
      ],
      stream: null,
      stream_options: null,
      temperature: 0.2,
      top_p: null,
      max_completion_tokens: 50,
      stop: ['END'],
      n: 1,
    };
    expect(ChatCompletionRequest.parse(request)).toEqual(request);
  });

  it('refuses, by path, what the gateway cannot pass on instead of ignoring it', () => {
    const refused: [object, (string | number)[]][] = [
      [{ ...ask, n: 2 }, ['n']],
      [{ ...ask, seed: 1 }, []],
      [{ ...ask, tools: [] }, []],
      [{ ...ask, temperature: 2.5 }, ['temperature']],
      [{ ...ask, stop: ['a', 'b', 'c', 'd', 'e'] }, ['stop']],
      [{ ...ask, messages: [{ role: 'tool', content: 'x' }] }, ['messages', 0, 'role']],
      [
        { ...ask, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
        ['messages', 0, 'content'],
      ],
      [{ ...ask, messages: [] }, ['messages']],
    ];
    for (const [body, path] of refused) {
      const result = ChatCompletionRequest.safeParse(body);
      expect(result.success, JSON.stringify(body)).toBe(false);
      expect(result.error?.issues[0]?.path, JSON.stringify(body)).toEqual(path);
    }
    expect(ChatCompletionRequest.safeParse({ ...ask, n: 2 }).error?.issues[0]?.message).toMatch(
      /one choice per request/,
    );
  });
});

describe('ChatCompletionChunk', () => {
  it('covers the delta, the finish and the usage-only closing chunk', () => {
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'helper' };
    const chunks = [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { ...base, choices: [], usage: null },
      { ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
    ];
    for (const chunk of chunks) expect(ChatCompletionChunk.parse(chunk)).toEqual(chunk);
    expect(ChatCompletionChunk.safeParse({ ...base, object: 'chat.completion' }).success).toBe(false);
  });
});
