// Clients for integration tests: undici for ordinary requests, node:http when a test must send
// headers undici refuses (hop-by-hop ones), a raw socket for malformed requests, and polling with
// a deadline for what has no event (stats, access log files).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { request } from 'undici';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request through undici; the whole body as text. */
export async function fetchText(url: string, options: Parameters<typeof request>[1] = {}): Promise<Reply> {
  const res = await request(url, options);
  return { status: res.statusCode, headers: res.headers as http.IncomingHttpHeaders, body: await res.body.text() };
}

/** The JSON an echo upstream answered with (see echoHandler). */
export async function fetchJson<T = Record<string, unknown>>(url: string, options: Parameters<typeof request>[1] = {}): Promise<T> {
  const reply = await fetchText(url, options);
  if (reply.status !== 200) throw new Error(`${url}: status ${reply.status}: ${reply.body}`);
  return JSON.parse(reply.body) as T;
}

/** One request through node:http, which sends any header it is given (Connection, Keep-Alive, Upgrade...). */
export function nodeRequest(url: string, options: http.RequestOptions & { body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Writes raw bytes on a fresh connection and collects everything the peer sends until it closes
 * (or timeoutMs passes, then rejects): for requests no client library would send.
 */
export function rawExchange(port: number, data: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; received: ${JSON.stringify(received)}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {}); // a reset after the answer still counts as the end
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(data);
  });
}

/** Polls check() until it returns a value other than undefined, or rejects after timeoutMs. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// A file's text; undefined while it does not exist yet.
function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Waits until a file holds at least `count` complete lines (access logs flush asynchronously). */
export function waitForLines(path: string, count: number, timeoutMs = 5000): Promise<string[]> {
  return waitFor(`${count} lines in ${path}`, () => {
    const lines = readIfThere(path)?.split('\n').slice(0, -1);
    return lines !== undefined && lines.length >= count ? lines : undefined;
  }, timeoutMs);
}

/** Waits for the access log line of the request to `requestPath`: the line that starts with it and a space. */
export function waitForLogLine(logPath: string, requestPath: string): Promise<string> {
  return waitFor(`the log line of ${requestPath}`, () => (readIfThere(logPath) ?? '').split('\n').find((line) => line.startsWith(requestPath + ' ')));
}

/** Admin /stats?format=json counters and gauges as a map (histograms left out). */
export async function statsMap(adminUrl: string): Promise<Map<string, number>> {
  const { stats } = await fetchJson<{ stats: { name?: string; value?: number }[] }>(`${adminUrl}/stats?format=json`);
  const out = new Map<string, number>();
  for (const s of stats) if (s.name !== undefined && typeof s.value === 'number') out.set(s.name, s.value);
  return out;
}
