import { isRefusal, type UpdateRefusalCode } from '../src/errors.js';

/** The refusal code `run` throws, or 'accepted'; anything else it throws is a test failure. */
export function refusal(run: () => unknown): UpdateRefusalCode | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (isRefusal(error)) return error.code;
    throw error;
  }
}

/** The same for a promise. */
export async function refusalOf(promise: Promise<unknown>): Promise<UpdateRefusalCode | 'accepted'> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (isRefusal(error)) return error.code;
    throw error;
  }
}
