// Real upstream HTTP servers for tests, on 127.0.0.1 port 0. Each records the requests it saw and
// answers through a handler the test gives (default: 200 with a small JSON body naming itself).
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Set once the exchange is over: true when the connection closed before the response ended. */
  aborted?: boolean;
}

export interface Upstream {
  name: string;
  port: number;
  address: string; // '127.0.0.1:port'
  seen: SeenRequest[];
  server: http.Server;
  /** Emits 'request' (SeenRequest) on arrival and 'done' (SeenRequest) once its exchange is over. */
  events: EventEmitter;
  /** The first request with this url, once it has arrived (or its exchange is over, with done). */
  waitFor(url: string, state?: 'request' | 'done', timeoutMs?: number): Promise<SeenRequest>;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, index: number) => void;

export function defaultHandler(name: string): UpstreamHandler {
  return (req, res) => {
    req.resume();
    req.once('end', () => {
      const body = JSON.stringify({ upstream: name, path: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  };
}

/** What echoHandler answers: the request as the upstream saw it. */
export interface Echo {
  upstream: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Answers 200 with the request as JSON (method, url, headers, body), to assert what was forwarded. */
export function echoHandler(name: string): UpstreamHandler {
  return (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.once('end', () => {
      const echo: Echo = { upstream: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      const text = JSON.stringify(echo);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  };
}

export async function startUpstream(name: string, handler: UpstreamHandler = defaultHandler(name)): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const events = new EventEmitter();
  const server = http.createServer((req, res) => {
    const entry: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    seen.push(entry);
    res.once('close', () => {
      entry.aborted = !res.writableFinished;
      events.emit('done', entry);
    });
    events.emit('request', entry);
    handler(req, res, seen.length - 1);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    seen,
    server,
    events,
    waitFor: (url, state = 'request', timeoutMs = 5000) => {
      const found = seen.find((r) => r.url === url && (state === 'request' || r.aborted !== undefined));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off(state, onEvent);
          reject(new Error(`upstream ${name}: no ${state} for ${url} within ${timeoutMs} ms`));
        }, timeoutMs);
        const onEvent = (r: SeenRequest) => {
          if (r.url !== url) return;
          clearTimeout(timer);
          events.off(state, onEvent);
          resolve(r);
        };
        events.on(state, onEvent);
      });
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** startUpstream, closed at the end of the test. */
export async function startUpstreamFor(t: Test, name: string): Promise<Upstream> {
  const upstream = await startUpstream(name);
  t.teardown(() => upstream.close());
  return upstream;
}

/** A port that nothing listens on: bound once to get a free number, then closed. */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export interface Unresponsive {
  port: number;
  close(): Promise<void>;
}

const PARKED_LISTENER = `
const server = require('node:net').createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n');
  // Blocks the event loop, so nothing is accepted, for at most 60 s: it never outlives a test long.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  process.exit(0);
});
`;

/**
 * A loopback port where a connect hangs: a child process listens with backlog 1 and blocks its
 * event loop so it never accepts; once its accept queue holds a connection or two, Linux drops
 * further SYNs and connects time out. { skip } says why when connects do not hang here.
 */
export async function unresponsivePort(): Promise<Unresponsive | { skip: string }> {
  if (process.platform !== 'linux') return { skip: 'relies on Linux dropping SYNs to a full accept queue' };
  const child = spawn(process.execPath, ['-e', PARKED_LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const filler: net.Socket[] = [];
  const close = async () => {
    for (const s of filler) s.destroy();
    child.kill('SIGKILL');
    await exited;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim())));
      child.once('exit', (code) => reject(new Error(`the parked listener exited (${code}) before it was ready`)));
    });
    // Fill the accept queue until a connect does not complete within 300 ms (at most 8 tries).
    for (let i = 0; i < 8; i++) {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      filler.push(socket);
      const connected = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 300);
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!connected) {
        socket.destroy();
        return { port, close };
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  await close();
  return { skip: 'connects to a listener that never accepts still complete here' };
}
