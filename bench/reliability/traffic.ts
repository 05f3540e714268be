// Paced client traffic for the chaos and soak runs, one outcome per request: when it was sent and
// ended, its status or its error, on which client connection. Each loop is one client connection
// (a keep-alive agent of one socket, or a new connection per request); the loops share a total
// rate. Every request carries a unique id header that the proxy's access log records, so a run can
// join its own view with the proxy's flags.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { REQUEST_ID_HEADER } from './config.ts';

/** What one request does. */
export type RequestKind = 'get' | 'newconn' | 'retry' | 'get1m' | 'post1m' | 'ws';

export interface Outcome {
  id: string;
  target: string;
  kind: RequestKind;
  /** The client connection (loop) it went on. */
  loop: number;
  sentAt: number;
  endAt: number;
  status?: number;
  /** Set when no complete, correct answer came: a socket error, a short body, a bad echo. */
  error?: string;
}

export interface TrafficTarget {
  name: string;
  port: number;
}

export interface TrafficOptions {
  targets: TrafficTarget[];
  /** Client connections per target. */
  loopsPerTarget: number;
  /** Requests per second over all loops. */
  rate: number;
  /** The kind of each loop's requests, cycled per request (loop i starts at i). */
  mix: RequestKind[];
  /** Loops whose requests always go on a new connection. */
  newConnectionLoops?: number;
  onOutcome(outcome: Outcome): void;
}

const MiB = 1024 * 1024;
const POST_BODY = Buffer.alloc(MiB, 'p');
const WS_MESSAGES = 5;
const TIMEOUT_MS = 30_000;

function httpRequest(port: number, agent: http.Agent | false, kind: RequestKind, id: string): Promise<{ status: number; error?: string }> {
  const post = kind === 'post1m';
  const path = kind === 'get1m' ? '/1m' : '/';
  const expected = kind === 'get1m' || post ? MiB : undefined;
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: post ? 'POST' : 'GET',
        agent,
        headers: {
          [REQUEST_ID_HEADER]: id,
          ...(agent === false ? { connection: 'close' } : {}),
          // The upstream answers 503 to the first attempt: the proxy's retry gets the 200.
          ...(kind === 'retry' ? { 'x-fail-once': id } : {}),
          ...(post ? { 'content-type': 'application/octet-stream', 'content-length': MiB } : {}),
        },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.once('end', () => {
          const short = expected !== undefined && res.statusCode === 200 && bytes !== expected;
          resolve({ status: res.statusCode ?? 0, ...(short ? { error: `body ${bytes} of ${expected} bytes` } : {}) });
        });
        res.once('error', (err) => resolve({ status: res.statusCode ?? 0, error: err.message }));
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.once('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code ?? err.message }));
    req.end(post ? POST_BODY : undefined);
  });
}

/** Opens a websocket, echoes a few messages through it, closes it. */
function websocket(port: number, id: string): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { [REQUEST_ID_HEADER]: id }, handshakeTimeout: TIMEOUT_MS });
    let echoed = 0;
    let settled = false;
    const done = (result: { status: number; error?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      ws.terminate();
      done({ status: 101, error: `websocket: ${echoed} of ${WS_MESSAGES} echoes within ${TIMEOUT_MS} ms` });
    }, TIMEOUT_MS);
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      done({ status: res.statusCode ?? 0, error: `upgrade answered ${res.statusCode}` });
    });
    ws.once('open', () => ws.send(`m0-${id}`));
    ws.on('message', (data) => {
      if (String(data) !== `m${echoed}-${id}`) {
        ws.terminate();
        done({ status: 101, error: 'websocket: wrong echo' });
        return;
      }
      echoed++;
      if (echoed < WS_MESSAGES) ws.send(`m${echoed}-${id}`);
      else ws.close(1000);
    });
    ws.once('close', () => done(echoed === WS_MESSAGES ? { status: 101 } : { status: 101, error: `websocket closed after ${echoed} of ${WS_MESSAGES} echoes` }));
    ws.once('error', (err: NodeJS.ErrnoException) => done({ status: 0, error: err.code ?? err.message }));
  });
}

export class Traffic {
  readonly #options: TrafficOptions;
  #running = false;
  #loops: Promise<void>[] = [];
  #agents: http.Agent[] = [];
  #sequence = 0;

  constructor(options: TrafficOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running = true;
    const { targets, loopsPerTarget, rate } = this.#options;
    const loops = targets.length * loopsPerTarget;
    const intervalMs = (loops / rate) * 1000;
    targets.forEach((target, t) => {
      for (let l = 0; l < loopsPerTarget; l++) {
        const loop = t * loopsPerTarget + l;
        const fresh = l < (this.#options.newConnectionLoops ?? 0);
        const agent = fresh ? false : new http.Agent({ keepAlive: true, maxSockets: 1 });
        if (agent) this.#agents.push(agent);
        // Staggered starts spread the loops evenly over one interval.
        this.#loops.push(this.#run(target, loop, agent, intervalMs, (loop * intervalMs) / loops));
      }
    });
  }

  async #run(target: TrafficTarget, loop: number, agent: http.Agent | false, intervalMs: number, offsetMs: number): Promise<void> {
    const mix = this.#options.mix;
    let nextAt = performance.now() + offsetMs;
    for (let n = loop; this.#running; n++) {
      const wait = nextAt - performance.now();
      if (wait > 0) await sleep(wait);
      if (!this.#running) break;
      nextAt = Math.max(nextAt + intervalMs, performance.now());
      const kind = agent === false && mix[n % mix.length] === 'get' ? 'newconn' : mix[n % mix.length];
      const id = `${process.pid}-${++this.#sequence}`;
      const sentAt = Date.now();
      const result = kind === 'ws' ? await websocket(target.port, id) : await httpRequest(target.port, agent, kind, id);
      this.#options.onOutcome({ id, target: target.name, kind, loop, sentAt, endAt: Date.now(), status: result.status, ...(result.error ? { error: result.error } : {}) });
    }
  }

  /** Stops sending and waits for the requests in flight to end. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    for (const agent of this.#agents) agent.destroy();
  }
}
