// Bodies are streamed, never buffered whole: 100 MiB up and 100 MiB down through a Legate child
// process whose resident memory is sampled during the transfer, with byte counts and hashes
// compared end to end.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { request } from 'undici';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { spawnLegate, type LegateProcess } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';

const MiB = 1024 * 1024;
const TOTAL = 100 * MiB;
const CHUNK = 64 * 1024;
// A proxy that held a whole 100 MiB body would grow by more than that. Streaming still leaves
// garbage: V8 collects dead Buffers once about 64 MiB of external memory piled up.
const GROWTH_LIMIT = 96 * MiB;

/** TOTAL bytes in CHUNK pieces, each stamped with its index so order and loss show in the hash. */
async function* pattern(): AsyncGenerator<Buffer> {
  const base = Buffer.alloc(CHUNK, 'legate streaming test ');
  for (let i = 0; i < TOTAL / CHUNK; i++) {
    const chunk = Buffer.from(base);
    chunk.writeUInt32BE(i, 0);
    yield chunk;
  }
}

async function patternDigest(): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of pattern()) hash.update(chunk);
  return hash.digest('hex');
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

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

const expectedDigest = await patternDigest();

// Bytes the upstream handed to its socket, by request path.
const written = new Map<string, number>();

// POST: hashes what arrives and answers with the count and digest. GET: sends the pattern.
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
  void (async () => {
    for await (const chunk of pattern()) {
      if (res.destroyed) return;
      const more = res.write(chunk);
      written.set(path, written.get(path)! + chunk.length);
      if (!more) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    }
    res.end();
  })();
});
t.teardown(() => upstream.close());

const legate = await spawnLegate(bootstrap([httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'bulk', timeout: '60s' } }]))], [staticCluster('bulk', [{ port: upstream.port }])]));
t.teardown(() => legate.stop('SIGKILL'));

t.test('100 MiB upload streams through with bounded memory', async (t) => {
  const sampler = sampleRss(legate);
  const res = await request(legate.url('/upload'), { method: 'POST', body: Readable.from(pattern()), headers: { 'content-type': 'application/octet-stream' } });
  const answer = (await res.body.json()) as { bytes: number; digest: string };
  const growth = sampler.stop();
  t.equal(res.statusCode, 200);
  t.equal(answer.bytes, TOTAL, 'every byte of the chunked upload arrived');
  t.equal(answer.digest, expectedDigest, 'in order and unchanged');
  t.ok(growth < GROWTH_LIMIT, `proxy RSS grew by ${mib(growth)} (limit ${mib(GROWTH_LIMIT)})`);
});

t.test('100 MiB download streams through with bounded memory', async (t) => {
  const sampler = sampleRss(legate);
  const res = await request(legate.url('/download'));
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-length'], String(TOTAL), 'content-length kept');
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  const growth = sampler.stop();
  t.equal(bytes, TOTAL, 'every byte arrived');
  t.equal(hash.digest('hex'), expectedDigest, 'in order and unchanged');
  t.ok(growth < GROWTH_LIMIT, `proxy RSS grew by ${mib(growth)} (limit ${mib(GROWTH_LIMIT)})`);
});

t.test('a client that stops reading holds the upstream back (back-pressure)', async (t) => {
  const sampler = sampleRss(legate);
  const res = await request(legate.url('/stall'));
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += (chunk as Buffer).length;
    if (bytes >= MiB) break; // stop reading with the response still open
  }
  // No event says "the upstream is blocked": wait (bounded) until its count stops moving.
  let last = -1;
  let still = 0;
  const deadline = Date.now() + 5000;
  while (still < 5 && Date.now() < deadline) {
    const now = written.get('/stall') ?? 0;
    still = now === last ? still + 1 : 0;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const growth = sampler.stop();
  t.ok(last < TOTAL / 4, `the upstream stalled after ${mib(last)} of ${mib(TOTAL)}`);
  t.ok(growth < 32 * MiB, `proxy RSS grew by ${mib(growth)} while the client stalled`);
});
