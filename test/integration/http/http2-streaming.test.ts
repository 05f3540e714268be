// HTTP/2 bodies are streamed, never buffered whole: 50 MiB up and 50 MiB down between an h2c
// client and an HTTP/1 upstream through a Legate child process (Envoy's default 256 MiB windows)
// whose resident memory is sampled during the transfer; and a client that stops reading holds the
// upstream back through HTTP/2 flow control.
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { spawnLegate, type LegateProcess } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';
import { settledCount } from '../../support/bulk-transfer.ts';

const MiB = 1024 * 1024;
const TOTAL = 50 * MiB;
const CHUNK = 64 * 1024;
const GROWTH_LIMIT = 96 * MiB;

function chunkAt(i: number): Buffer {
  const chunk = Buffer.alloc(CHUNK, 'legate h2 streaming ');
  chunk.writeUInt32BE(i, 0);
  return chunk;
}

const expectedDigest = (() => {
  const hash = createHash('sha256');
  for (let i = 0; i < TOTAL / CHUNK; i++) hash.update(chunkAt(i));
  return hash.digest('hex');
})();

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

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const written = new Map<string, number>();

const upstream = await startUpstream('bulk', (req, res) => {
  if (req.method === 'POST') {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.once('end', () => res.end(JSON.stringify({ bytes, digest: hash.digest('hex') })));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TOTAL });
  const path = req.url ?? '';
  written.set(path, 0);
  let i = 0;
  const pump = (): void => {
    while (i < TOTAL / CHUNK) {
      if (res.destroyed) return;
      const more = res.write(chunkAt(i++));
      written.set(path, written.get(path)! + CHUNK);
      if (!more) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
t.teardown(() => upstream.close());

const legate = await spawnLegate(bootstrap([httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'bulk', timeout: '60s' } }]), { codec_type: 'HTTP2' })], [staticCluster('bulk', [{ port: upstream.port }])]));
t.teardown(() => legate.stop('SIGKILL'));

const session = http2.connect(`http://127.0.0.1:${legate.port()}`);
session.on('error', () => undefined);
t.teardown(() => session.destroy());

t.test('50 MiB upload over HTTP/2 streams through with bounded memory', async (t) => {
  const sampler = sampleRss(legate);
  const req = session.request({ ':method': 'POST', ':path': '/upload', 'content-type': 'application/octet-stream' });
  let body = '';
  req.on('data', (c) => (body += c));
  const ended = new Promise<void>((resolve, reject) => {
    req.once('end', () => resolve());
    req.once('error', reject);
  });
  for (let i = 0; i < TOTAL / CHUNK; i++) {
    if (!req.write(chunkAt(i))) await new Promise((resolve) => req.once('drain', resolve));
  }
  req.end();
  await ended;
  const growth = sampler.stop();
  const answer = JSON.parse(body) as { bytes: number; digest: string };
  t.equal(answer.bytes, TOTAL, 'every byte arrived');
  t.equal(answer.digest, expectedDigest, 'in order and unchanged');
  t.ok(growth < GROWTH_LIMIT, `proxy RSS grew by ${mib(growth)} (limit ${mib(GROWTH_LIMIT)})`);
});

t.test('50 MiB download over HTTP/2 streams through with bounded memory', async (t) => {
  const sampler = sampleRss(legate);
  const req = session.request({ ':method': 'GET', ':path': '/download' });
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    hash.update(c);
  });
  await new Promise<void>((resolve, reject) => {
    req.once('end', () => resolve());
    req.once('error', reject);
  });
  const growth = sampler.stop();
  t.equal(bytes, TOTAL, 'every byte arrived');
  t.equal(hash.digest('hex'), expectedDigest, 'in order and unchanged');
  t.ok(growth < GROWTH_LIMIT, `proxy RSS grew by ${mib(growth)} (limit ${mib(GROWTH_LIMIT)})`);
});

t.test('an HTTP/2 client that stops reading holds the upstream back (flow control)', async (t) => {
  const sampler = sampleRss(legate);
  const req = session.request({ ':method': 'GET', ':path': '/stall' });
  req.on('error', () => undefined);
  let bytes = 0;
  await new Promise<void>((resolve) => {
    const onData = (c: Buffer) => {
      bytes += c.length;
      if (bytes < MiB) return;
      req.off('data', onData);
      req.pause();
      resolve();
    };
    req.on('data', onData);
  });
  const last = await settledCount(() => written.get('/stall') ?? 0);
  const growth = sampler.stop();
  t.ok(last < TOTAL / 2, `the upstream stalled after ${mib(last)} of ${mib(TOTAL)}`);
  t.ok(growth < 32 * MiB, `proxy RSS grew by ${mib(growth)} while the client stalled`);
  req.close(http2.constants.NGHTTP2_CANCEL);
});
