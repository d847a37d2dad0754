/**
 * Runs read-modify-write work on chrome.storage one at a time: two steps
 * arriving together must not both read the outbox and each write back only
 * their own.
 */
export function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => {});
    return run;
  };
}
