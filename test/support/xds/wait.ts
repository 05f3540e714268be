// Waits for an item of a growing list to match, on the emitter's event; never sleeps. The
// deadline turns a hang into a failure that says what did arrive.
import type { EventEmitter } from 'node:events';

export function waitForItem<T>(
  items: readonly T[],
  emitter: EventEmitter,
  event: string,
  predicate: (item: T) => boolean,
  options: { after?: number; timeoutMs?: number; what: string },
): Promise<T> {
  const { after = 0, timeoutMs = 10_000, what } = options;
  const found = items.slice(after).find(predicate);
  if (found !== undefined) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const onItem = (item: T): void => {
      if (!predicate(item)) return;
      cleanup();
      resolve(item);
    };
    const timer = setTimeout(() => {
      cleanup();
      const seen = items.slice(after).map((item) => JSON.stringify(item)).join('\n  ');
      reject(new Error(`no ${what} within ${timeoutMs} ms; got:\n  ${seen || '(nothing)'}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      emitter.off(event, onItem);
    };
    emitter.on(event, onItem);
  });
}

// Polls `check` until it holds, for state that has no event; the deadline makes a hang a failure.
export async function pollUntil(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
