import { readFile } from 'node:fs/promises';

/** The part of a zod schema `readJsonFile` uses (runtime does not depend on zod itself). */
export interface JsonFileSchema<T> {
  safeParse(
    input: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ message: string }> } };
}

/**
 * What a small JSON file (a credential, a state record) holds: `missing` when there is no file,
 * `damaged` when it is not JSON (`reason: 'json'`) or not what the schema accepts (`reason:
 * 'schema'`, with the first issue's message), else its parsed `value`. Each caller decides what
 * a damaged file means for it (ignore it, refuse, ask the person), so this never throws for one;
 * any other read error (EACCES, EISDIR) is thrown.
 */
export type JsonFileRead<T> =
  | { state: 'missing' }
  | { state: 'damaged'; reason: 'json' | 'schema'; issue: string }
  | { state: 'ok'; value: T };

export async function readJsonFile<T>(path: string, schema: JsonFileSchema<T>): Promise<JsonFileRead<T>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { state: 'damaged', reason: 'json', issue: (error as Error).message };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { state: 'ok', value: parsed.data };
  return { state: 'damaged', reason: 'schema', issue: parsed.error.issues[0]?.message ?? 'invalid' };
}
