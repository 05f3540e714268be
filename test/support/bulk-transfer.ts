// Bulk transfers through a Legate child process at bounded memory, shared by the streaming tests
// (HTTP/1 and HTTP/2 upstreams): a numbered byte pattern and its digest, the proxy's RSS sampled
// during a transfer, and the three checks — an upload and a download arrive whole and in order with
// the proxy's growth under a limit, and a client that stops reading stalls the upstream.
import { createHash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import type { Test } from 'tap';
import { request } from 'undici';
import type { LegateProcess } from './legate-process.ts';
import type { UpstreamHandler } from './upstream.ts';

export const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** `total` bytes in 64 KiB chunks, each stamped with its index so order and loss show in the hash. */
export class BulkPattern {
  readonly total: number;
  private readonly base: Buffer;

  constructor(total: number, text: string) {
    this.total = total;
    this.base = Buffer.alloc(CHUNK, text);
  }

  async *chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < this.total / CHUNK; i++) {
      const chunk = Buffer.from(this.base);
      chunk.writeUInt32BE(i, 0);
      yield chunk;
    }
  }

  async digest(): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of this.chunks()) hash.update(chunk);
    return hash.digest('hex');
  }
}

/** The upstream's side of an upload: counts and hashes the body, then answers `{ bytes, digest }`. */
export function receiveBulk(body: NodeJS.ReadableStream, answer: (json: string) => void): void {
  const hash = createHash('sha256');
  let bytes = 0;
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  body.once('end', () => answer(JSON.stringify({ bytes, digest: hash.digest('hex') })));
}

/** The upstream's side of a download: the pattern, written as the connection drains, counted by path. */
/** An HTTP/1 upstream's handler: a POST is hashed (receiveBulk's answer), a GET gets the pattern. */
export function bulkHandler(pattern: BulkPattern, written: Map<string, number>): UpstreamHandler {
  return (req, res) => {
    if (req.method === 'POST') {
      receiveBulk(req, (json) => res.end(json));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': pattern.total });
    sendBulk(res, pattern, written, req.url ?? '');
  };
}

export function sendBulk(out: Writable, pattern: BulkPattern, written: Map<string, number>, path: string): void {
  written.set(path, 0);
  void (async () => {
    for await (const chunk of pattern.chunks()) {
      if (out.destroyed) return;
      const more = out.write(chunk);
      written.set(path, written.get(path)! + chunk.length);
      if (!more) await new Promise((resolve) => out.once('drain', resolve).once('close', resolve));
    }
    out.end();
  })();
}

/** Samples the process's RSS every 20 ms from now until stopped; returns the growth at the peak. */
function sampleRss(legate: LegateProcess): { stop(): number } {
  const before = legate.rssBytes();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, legate.rssBytes())), 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, legate.rssBytes()) - before;
    },
  };
}

export interface BulkChecks {
  legate: LegateProcess;
  pattern: BulkPattern;
  /** The RSS growth a streaming proxy stays under (one that held a body would exceed it). */
  growthLimit: number;
  /** Bytes the upstream handed to its connection, by request path (it serves GETs with the pattern). */
  written: Map<string, number>;
  /** Names the upstream in the test titles, e.g. 'an HTTP/2 upstream'. */
  upstream: string;
}

/**
 * The three subtests. The upstream answers a POST with `{ bytes, digest }` of what it received and
 * a GET with the pattern (content-length set), writing only as fast as its connection drains.
 */
export function bulkTransferChecks(t: Test, checks: BulkChecks): void {
  const { legate, pattern, growthLimit, written, upstream } = checks;
  const total = pattern.total;
  const expected = pattern.digest();

  t.test(`${mib(total)} upload to ${upstream} streams through with bounded memory`, async (t) => {
    const sampler = sampleRss(legate);
    const res = await request(legate.url('/upload'), { method: 'POST', body: Readable.from(pattern.chunks()), headers: { 'content-type': 'application/octet-stream' } });
    const answer = (await res.body.json()) as { bytes: number; digest: string };
    const growth = sampler.stop();
    t.equal(res.statusCode, 200);
    t.equal(answer.bytes, total, 'every byte of the upload arrived');
    t.equal(answer.digest, await expected, 'in order and unchanged');
    t.ok(growth < growthLimit, `proxy RSS grew by ${mib(growth)} (limit ${mib(growthLimit)})`);
  });

  t.test(`${mib(total)} download from ${upstream} streams through with bounded memory`, async (t) => {
    const sampler = sampleRss(legate);
    const res = await request(legate.url('/download'));
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-length'], String(total), 'content-length kept');
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of res.body) {
      bytes += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    const growth = sampler.stop();
    t.equal(bytes, total, 'every byte arrived');
    t.equal(hash.digest('hex'), await expected, 'in order and unchanged');
    t.ok(growth < growthLimit, `proxy RSS grew by ${mib(growth)} (limit ${mib(growthLimit)})`);
  });

  t.test(`a client that stops reading holds ${upstream} back (back-pressure)`, async (t) => {
    const sampler = sampleRss(legate);
    const res = await request(legate.url('/stall'));
    let bytes = 0;
    for await (const chunk of res.body) {
      bytes += (chunk as Buffer).length;
      if (bytes >= MiB) break; // stop reading with the response still open
    }
    const last = await settledCount(() => written.get('/stall') ?? 0);
    const growth = sampler.stop();
    t.ok(last < total / 4, `the upstream stalled after ${mib(last)} of ${mib(total)}`);
    t.ok(growth < 32 * MiB, `proxy RSS grew by ${mib(growth)} while the client stalled`);
  });
}

/**
 * No event says "the upstream is blocked": polls `read` (bounded: `timeoutMs`) until it stops
 * moving for five reads in a row, and returns where it stopped.
 */
export async function settledCount(read: () => number, timeoutMs = 5000): Promise<number> {
  let last = -1;
  let still = 0;
  const deadline = Date.now() + timeoutMs;
  while (still < 5 && Date.now() < deadline) {
    const now = read();
    still = now === last ? still + 1 : 0;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return last;
}
