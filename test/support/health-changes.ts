// A HealthCheckManager for tests and the host health changes it reports, awaited with a deadline.
import type { Test } from 'tap';
import { Store } from '../../proxy/stats/index.ts';
import { HealthCheckManager } from '../../proxy/upstream/health-check.ts';

export type Change = [cluster: string, address: string, failed: boolean];

/** Collects a manager's changes; next() waits for the next one with a deadline. */
export function watch(manager: HealthCheckManager) {
  const queue: Change[] = [];
  let wake: (() => void) | undefined;
  manager.onChange((c, a, f) => {
    queue.push([c, a, f]);
    wake?.();
  });
  return {
    queue,
    async next(timeoutMs = 5000): Promise<Change> {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (Date.now() > deadline) throw new Error('no health change in time');
        // A ref'd timer: checks' timers are unref'd, and with the server gone nothing else keeps the test alive.
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return queue.shift()!;
    },
  };
}

/** A manager closed at the end of the test, and its changes as watch() collects them. */
export function checking(t: Test, store = new Store()) {
  const manager = new HealthCheckManager({ store });
  t.teardown(() => manager.close());
  return { manager, changes: watch(manager) };
}
