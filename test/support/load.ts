// Steady HTTP load for tests: N concurrent keep-alive loops against a URL, bounded in request
// count and time, recording every status and error so a test can assert "no request lost".
import { Agent, request } from 'undici';

export interface LoadResult {
  sent: number;
  statuses: Map<number, number>;
  errors: string[];
  bodies: Map<string, number>; // body text -> count (small bodies only)
}

export interface RunningLoad {
  /** Resolves once at least n requests completed (or the load ended). */
  waitFor(n: number): Promise<void>;
  /** Requests completed so far. */
  completed(): number;
  stop(): Promise<LoadResult>;
  readonly done: Promise<LoadResult>;
}

export function steadyLoad(url: string, opts: { concurrency?: number; maxRequests?: number; maxMs?: number; headers?: Record<string, string> } = {}): RunningLoad {
  const concurrency = opts.concurrency ?? 4;
  const maxRequests = opts.maxRequests ?? 20_000;
  const deadline = Date.now() + (opts.maxMs ?? 30_000);
  const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const result: LoadResult = { sent: 0, statuses: new Map(), errors: [], bodies: new Map() };
  let stopped = false;
  let completed = 0;
  const waiters: { n: number; resolve(): void }[] = [];
  const settle = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (completed >= waiters[i].n || stopped) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  };
  const loop = async () => {
    while (!stopped && result.sent < maxRequests && Date.now() < deadline) {
      result.sent++;
      try {
        const res = await request(url, { dispatcher, headers: opts.headers });
        const body = await res.body.text();
        result.statuses.set(res.statusCode, (result.statuses.get(res.statusCode) ?? 0) + 1);
        if (body.length <= 200) result.bodies.set(body, (result.bodies.get(body) ?? 0) + 1);
      } catch (err) {
        result.errors.push((err as Error).message);
      }
      completed++;
      settle();
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, loop)).then(async () => {
    stopped = true;
    settle();
    await dispatcher.close();
    return result;
  });
  return {
    waitFor: (n) => (completed >= n || stopped ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    completed: () => completed,
    stop: () => {
      stopped = true;
      return done;
    },
    done,
  };
}
