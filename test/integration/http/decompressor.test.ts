// The decompressor filter end to end: a Legate child process in front of a real HTTP/1 upstream
// that answers gzip, br and zstd encoded bodies (and reads what it is sent), clients on node:http
// and node:http2. Listener 'dec' chains three decompressors (brotli, gzip, zstd) with Envoy's
// defaults; 'quiet' has one gzip decompressor for responses only, that does not advertise and
// ignores no-transform. Covered: each library, two codings, no-transform, accept-encoding
// advertised, request bodies, the byte-count trailers, a route that turns the filter off, 96 MiB
// streamed at bounded memory and held back by a client that stops reading, bombs and corrupt
// bodies (Envoy's library counters; 400/413 or a reset), Envoy's stats, and refusals by name.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';
import { MiB, settledCount } from '../../support/bulk-transfer.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { runCli, spawnLegate, type LegateProcess } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';

const DECOMPRESSOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor';
type Kind = 'gzip' | 'brotli' | 'zstd';
const CODING: Record<Kind, string> = { gzip: 'gzip', brotli: 'br', zstd: 'zstd' };

function decompressorFilter(kind: Kind, extra: object = {}, library: object = {}) {
  const message = { gzip: 'Gzip', brotli: 'Brotli', zstd: 'Zstd' }[kind];
  return {
    name: `envoy.filters.http.decompressor.${kind}`,
    typed_config: {
      '@type': DECOMPRESSOR_TYPE,
      decompressor_library: { name: `up_${kind}`, typed_config: { '@type': `type.googleapis.com/envoy.extensions.compression.${kind}.decompressor.v3.${message}`, ...library } },
      ...extra,
    },
  };
}

const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };

function encode(coding: string, body: Buffer): Buffer {
  switch (coding) {
    case 'gzip':
      return zlib.gzipSync(body);
    case 'br':
      return zlib.brotliCompressSync(body);
    case 'zstd':
      return zlib.zstdCompressSync(body);
    case 'deflate':
      return zlib.deflateSync(body);
    default:
      throw new Error(coding);
  }
}

// Text that compresses a few times over (well below the guard's ratio of 100), stamped so loss shows.
function text(bytes: number, seed = 1): Buffer {
  const words = ['legate', 'envoy', 'decompressor', 'upstream', 'body', 'chunk', 'stream', 'ratio', 'trailer', 'header'];
  let s = seed;
  let out = '';
  while (out.length < bytes) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out += `${words[s % words.length]} ${s % 10_000}${s % 9 === 0 ? '\n' : ' '}`;
  }
  return Buffer.from(out.slice(0, bytes));
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// 96 MiB of gzip: random blocks (they do not compress), each stamped with its index.
const BIG_BLOCKS = 96;
const randomBlock = randomBytes(MiB);
function bigBlock(i: number): Buffer {
  const b = Buffer.from(randomBlock);
  b.writeUInt32BE(i, 0);
  return b;
}
const bigPlain = createHash('sha256');
for (let i = 0; i < BIG_BLOCKS; i++) bigPlain.update(bigBlock(i));
const BIG_DIGEST = bigPlain.digest('hex');
const written = new Map<string, number>();

// A gzip stream of `blocks` blocks written as the response drains: compressed on the fly, never whole.
async function streamGzip(res: http.ServerResponse, path: string, blocks: number, headers: http.OutgoingHttpHeaders = {}): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip', ...headers });
  const gzip = zlib.createGzip({ level: 1 });
  written.set(path, 0);
  gzip.on('data', (c: Buffer) => {
    written.set(path, written.get(path)! + c.length);
    if (!res.write(c)) {
      gzip.pause();
      res.once('drain', () => gzip.resume());
    }
  });
  gzip.once('end', () => res.end());
  res.once('close', () => gzip.destroy());
  for (let i = 0; i < blocks && !res.destroyed; i++) {
    if (!gzip.write(bigBlock(i))) await new Promise((resolve) => gzip.once('drain', resolve).once('close', resolve));
  }
  gzip.end();
}

const SMALL_BOMB = zlib.gzipSync(Buffer.alloc(MiB)); // ~1 KiB: a ratio of ~1000
const BIG_BOMB = zlib.gzipSync(Buffer.alloc(256 * MiB)); // ~256 KiB that would be 256 MiB
const CORRUPT = (() => {
  const good = zlib.gzipSync(text(200_000));
  const bad = Buffer.from(good);
  bad.fill(0x55, good.length >> 1, (good.length >> 1) + 64);
  return bad;
})();

const upstream = await startUpstream('app', (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const size = Number(url.searchParams.get('size') ?? '10000');
  const coding = url.searchParams.get('coding') ?? 'gzip';
  if (url.pathname === '/upload') {
    // What arrived, as the upstream saw it.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const body = Buffer.concat(chunks);
      const answer = JSON.stringify({ headers: req.headers, trailers: req.trailers, length: body.length, digest: sha256(body) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
    return;
  }
  req.resume();
  if (url.pathname.endsWith('/echo')) {
    const answer = JSON.stringify(req.headers);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
    return;
  }
  if (url.pathname.endsWith('/big') || url.pathname === '/stall') {
    void streamGzip(res, url.pathname, url.pathname === '/stall' ? 128 : BIG_BLOCKS);
    return;
  }
  if (url.pathname === '/bomb' || url.pathname === '/bigbomb') {
    const bomb = url.pathname === '/bomb' ? SMALL_BOMB : BIG_BOMB;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
    res.end(bomb);
    return;
  }
  if (url.pathname === '/corrupt') {
    // The first half decodes; the rest is damaged.
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
    res.write(CORRUPT.subarray(0, CORRUPT.length >> 1));
    setTimeout(() => res.end(CORRUPT.subarray(CORRUPT.length >> 1)), 20);
    return;
  }
  // Any other path: `size` bytes of text under the codings `coding` lists (outermost first, as Envoy reads them).
  const body = text(size);
  let encoded = body;
  for (const c of coding.split(',').map((s) => s.trim().toLowerCase()).reverse()) if (c !== '' && c !== 'identity') encoded = encode(c, encoded);
  const headers: Record<string, string> = { 'content-type': 'text/plain', 'content-encoding': coding, 'content-length': String(encoded.length) };
  const cacheControl = url.searchParams.get('cache-control');
  if (cacheControl !== null) headers['cache-control'] = cacheControl;
  if (url.pathname === '/chunked') {
    delete headers['content-length'];
    res.writeHead(200, headers);
    res.write(encoded.subarray(0, encoded.length >> 1));
    setImmediate(() => res.end(encoded.subarray(encoded.length >> 1)));
    return;
  }
  res.writeHead(200, headers);
  res.end(encoded);
});
t.teardown(() => upstream.close());

const disabledGzip = { 'envoy.filters.http.decompressor.gzip': { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', disabled: true } };
const route = routes([
  { match: { prefix: '/nodecompress' }, route: { cluster: 'app' }, typed_per_filter_config: disabledGzip },
  { match: { prefix: '/' }, route: { cluster: 'app', timeout: '60s' } },
]);
const decFilters = [decompressorFilter('brotli'), decompressorFilter('gzip'), decompressorFilter('zstd')];
const quietFilters = [
  decompressorFilter('gzip', {
    request_direction_config: { common_config: { enabled: { default_value: false, runtime_key: 'quiet.request' } }, advertise_accept_encoding: false },
    response_direction_config: { common_config: { ignore_no_transform_header: true } },
  }, { max_inflate_ratio: 1032, window_bits: 15, chunk_size: 16384 }),
];
let legate: LegateProcess;
try {
  legate = await spawnLegate(
    bootstrap(
      [httpListener('dec', route, { http_filters: [...decFilters, router] }), httpListener('quiet', route, { http_filters: [...quietFilters, router] })],
      [staticCluster('app', [{ port: upstream.port }])],
    ),
  );
} catch (err) {
  await upstream.close();
  throw err;
}
t.teardown(() => legate.stop('SIGKILL'));

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  trailers: NodeJS.Dict<string>;
  /** The body ended as HTTP framed it (false: the connection was cut short). */
  complete: boolean;
}

function request(path: string, listener: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(legate.url(path, listener), { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let complete = false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => (complete = true));
      res.once('error', () => {});
      res.once('close', () => resolve({ status: res.statusCode!, headers: res.headers, raw: Buffer.concat(chunks), trailers: res.trailers, complete: complete && !res.aborted }));
    });
    req.once('error', reject);
    req.end(opts.body);
  });
}

const get = (path: string, listener = 'dec', headers: Record<string, string> = {}) => request(path, listener, { headers });
const stat = (listener: string, kind: Kind, name: string) => `http.${listener}.decompressor.up_${kind}.${kind}.${name}`;

t.test('each library decompresses its own coding; content-encoding and content-length go', async (t) => {
  for (const kind of ['gzip', 'brotli', 'zstd'] as const) {
    for (const path of ['/text', '/chunked']) {
      const a = await get(`${path}?size=30000&coding=${CODING[kind]}`);
      t.equal(a.status, 200);
      t.equal(a.headers['content-encoding'], undefined, `${kind} ${path}: content-encoding removed`);
      t.equal(a.headers['content-length'], undefined, `${kind} ${path}: no content-length`);
      t.equal(a.headers['transfer-encoding'], 'chunked', `${kind} ${path}: the body goes chunked`);
      t.same(a.raw, text(30000), `${kind} ${path}: the upstream's body, decoded`);
      t.equal(a.trailers[`x-envoy-decompressor-up_${kind}-uncompressed-bytes`], '30000', `${kind} ${path}: Envoy's byte-count trailers`);
      t.ok(Number(a.trailers[`x-envoy-decompressor-up_${kind}-compressed-bytes`]) < 30000);
    }
  }
  const upper = await get('/text?size=5000&coding=GZip');
  t.same(upper.raw, text(5000), 'the coding matches case-insensitively');
  const plain = await get('/text?size=5000&coding=identity');
  t.equal(plain.headers['content-encoding'], 'identity', 'another coding is left alone');
  t.equal(plain.headers['content-length'], '5000');
});

t.test('two codings: each filter undoes the first one while it is its own', async (t) => {
  const both = await get('/text?size=20000&coding=gzip,%20br');
  t.equal(both.headers['content-encoding'], undefined, 'gzip then br undone (the chain encodes zstd, gzip, brotli in that order)');
  t.same(both.raw, text(20000));
  const partial = await get('/text?size=20000&coding=gzip,%20deflate');
  t.equal(partial.headers['content-encoding'], 'deflate', 'the gzip coding leaves the header, deflate stays');
  t.same(zlib.inflateSync(partial.raw), text(20000), 'and the body is still deflate');
  const notFirst = await get('/text?size=20000&coding=deflate,%20gzip');
  t.equal(notFirst.headers['content-encoding'], 'deflate, gzip', 'gzip that is not first is left alone');
});

t.test('cache-control no-transform keeps the body compressed, unless ignore_no_transform_header', async (t) => {
  const kept = await get('/text?size=8000&coding=gzip&cache-control=public,%20no-transform');
  t.equal(kept.headers['content-encoding'], 'gzip');
  t.same(zlib.gunzipSync(kept.raw), text(8000));
  const ignored = await get('/text?size=8000&coding=gzip&cache-control=public,%20no-transform', 'quiet');
  t.equal(ignored.headers['content-encoding'], undefined);
  t.same(ignored.raw, text(8000));
});

t.test('accept-encoding: each filter adds its coding upstream, last and without a q-value', async (t) => {
  const echo = async (listener: string, path: string, accept?: string) => JSON.parse((await get(path, listener, accept === undefined ? {} : { 'accept-encoding': accept })).raw.toString()) as http.IncomingHttpHeaders;
  t.equal((await echo('dec', '/echo'))['accept-encoding'], 'br,gzip,zstd');
  t.equal((await echo('dec', '/echo', 'gzip;q=0.2, identity'))['accept-encoding'], 'identity,br,gzip,zstd');
  t.equal((await echo('quiet', '/echo', 'deflate'))['accept-encoding'], 'deflate', 'advertise_accept_encoding: false');
  t.equal((await echo('dec', '/nodecompress/echo'))['accept-encoding'], 'br,zstd', 'the route that turns the gzip filter off');
});

t.test('a route with the filter turned off passes gzip through', async (t) => {
  const a = await get('/nodecompress?size=4000&coding=gzip');
  t.equal(a.headers['content-encoding'], 'gzip');
  t.same(zlib.gunzipSync(a.raw), text(4000));
  const br = await get('/nodecompress?size=4000&coding=br');
  t.same(br.raw, text(4000), 'the chain\'s other decompressors still work there');
});

t.test('request bodies: the upstream receives them decompressed, with the byte-count trailers', async (t) => {
  for (const kind of ['gzip', 'brotli', 'zstd'] as const) {
    const body = text(3 * MiB, 7);
    const compressed = encode(CODING[kind], body);
    const a = await request('/upload', 'dec', { method: 'POST', body: compressed, headers: { 'content-encoding': CODING[kind], 'content-type': 'application/json', 'content-length': String(compressed.length) } });
    const seen = JSON.parse(a.raw.toString()) as { headers: http.IncomingHttpHeaders; trailers: NodeJS.Dict<string>; length: number; digest: string };
    t.equal(seen.headers['content-encoding'], undefined, `${kind}: no content-encoding upstream`);
    t.equal(seen.headers['content-length'], undefined, `${kind}: no content-length upstream`);
    t.equal(seen.length, body.length, `${kind}: every byte`);
    t.equal(seen.digest, sha256(body), `${kind}: the body the client compressed`);
    t.equal(seen.trailers[`x-envoy-decompressor-up_${kind}-compressed-bytes`], String(compressed.length));
    t.equal(seen.trailers[`x-envoy-decompressor-up_${kind}-uncompressed-bytes`], String(body.length));
  }
  // 24 MiB that does not compress: streamed to the upstream, not collected first.
  const large = Buffer.concat(Array.from({ length: 24 }, (_v, i) => bigBlock(i)));
  const largeGzip = zlib.gzipSync(large, { level: 1 });
  const big = await request('/upload', 'dec', { method: 'POST', body: largeGzip, headers: { 'content-encoding': 'gzip', 'content-length': String(largeGzip.length) } });
  const bigSeen = JSON.parse(big.raw.toString()) as { length: number; digest: string };
  t.equal(bigSeen.length, large.length, `${(largeGzip.length / MiB).toFixed(1)} MiB of gzip upload arrives as ${large.length / MiB} MiB`);
  t.equal(bigSeen.digest, sha256(large));
  const compressed = zlib.gzipSync(text(10000));
  const off = await request('/upload', 'quiet', { method: 'POST', body: compressed, headers: { 'content-encoding': 'gzip' } });
  const seen = JSON.parse(off.raw.toString()) as { headers: http.IncomingHttpHeaders; digest: string };
  t.equal(seen.headers['content-encoding'], 'gzip', 'request direction off: the body goes on compressed');
  t.equal(seen.digest, sha256(compressed));
});

t.test('an HTTP/2 client gets the decompressed body and the trailers', async (t) => {
  const session = http2.connect(`http://127.0.0.1:${legate.port('dec')}`);
  t.teardown(() => session.close());
  const answer = await new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; raw: Buffer }>((resolve, reject) => {
    const req = session.request({ ':path': '/text?size=40000&coding=zstd' });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.once('response', (h) => (headers = h));
    req.once('trailers', (h) => (trailers = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve({ headers, trailers, raw: Buffer.concat(chunks) }));
    req.once('error', reject);
  });
  t.equal(answer.headers[':status'], 200);
  t.equal(answer.headers['content-encoding'], undefined);
  t.same(answer.raw, text(40000));
  t.equal(answer.trailers['x-envoy-decompressor-up_zstd-uncompressed-bytes'], '40000');
});

t.test('96 MiB of gzip streams through decompressed, intact, at bounded memory', async (t) => {
  // A fresh process's heap grows by up to ~40 MiB with its first large body whatever the filters
  // (measured for a plain proxied body too), so the body is large enough that holding it would show.
  const before = legate.rssBytes();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, legate.rssBytes())), 20);
  t.teardown(() => clearInterval(timer));
  const result = await new Promise<{ bytes: number; digest: string; encoding?: string }>((resolve, reject) => {
    http
      .get(legate.url('/big', 'dec'), { agent: false }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          hash.update(c);
        });
        res.once('end', () => resolve({ bytes, digest: hash.digest('hex'), encoding: res.headers['content-encoding'] }));
        res.once('error', reject);
      })
      .once('error', reject);
  });
  clearInterval(timer);
  t.ok(written.get('/big')! > BIG_BLOCKS * MiB, `${(written.get('/big')! / MiB).toFixed(1)} MiB of gzip from the upstream`);
  t.equal(result.encoding, undefined);
  t.equal(result.bytes, BIG_BLOCKS * MiB, 'every byte arrived');
  t.equal(result.digest, BIG_DIGEST, 'in order and unchanged');
  const growth = peak - before;
  t.ok(growth < 64 * MiB, `proxy RSS grew by ${(growth / MiB).toFixed(0)} MiB over a ${BIG_BLOCKS} MiB body (it holds neither the compressed nor the decompressed whole)`);
});

t.test('a client that stops reading a decompressed response holds the upstream back', async (t) => {
  const req = http.get(legate.url('/stall', 'dec'), { agent: false });
  t.teardown(() => req.destroy());
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject));
  t.equal(res.headers['content-encoding'], undefined);
  let received = 0;
  await new Promise<void>((resolve) => {
    res.on('data', (c: Buffer) => {
      received += c.length;
      if (received >= MiB) {
        res.pause();
        resolve();
      }
    });
  });
  const stalledAt = await settledCount(() => written.get('/stall') ?? 0, 10_000);
  t.ok(stalledAt < 32 * MiB, `the upstream stalled after ${(stalledAt / MiB).toFixed(1)} MiB of 128 MiB`);
});

t.test('bombs: the guard stops them at the ratio, counted as zlib_data_error; a response is reset, a request gets 413', async (t) => {
  const statsBefore = await statsMap(legate.adminUrl(''));
  const small = await get('/bomb');
  t.equal(small.status, 200, 'the headers were already out');
  t.equal(small.complete, false, 'the body is cut off, not ended as if whole');
  t.ok(small.raw.length <= 100 * SMALL_BOMB.length + 64 * 1024, `${small.raw.length} bytes of the 1 MiB reached the client (${SMALL_BOMB.length} compressed)`);
  const before = legate.rssBytes();
  const big = await get('/bigbomb');
  t.equal(big.complete, false);
  t.ok(big.raw.length < 64 * MiB, `${(big.raw.length / MiB).toFixed(1)} MiB of the 256 MiB reached the client`);
  t.ok(legate.rssBytes() - before < 64 * MiB, 'the expanded size was never made');
  const upload = await request('/upload', 'dec', { method: 'POST', body: SMALL_BOMB, headers: { 'content-encoding': 'gzip' } });
  t.equal(upload.status, 413);
  t.equal(upload.raw.toString(), 'Payload Too Large');
  const generous = await get('/bomb', 'quiet');
  t.equal(generous.complete, true, 'max_inflate_ratio 1032 lets the same body through');
  t.same(generous.raw, Buffer.alloc(MiB));
  const stats = await waitFor('the bomb counters', async () => {
    const s = await statsMap(legate.adminUrl(''));
    return (s.get(stat('dec', 'gzip', 'decompressor_library.zlib_data_error')) ?? 0) - (statsBefore.get(stat('dec', 'gzip', 'decompressor_library.zlib_data_error')) ?? 0) >= 3 ? s : undefined;
  });
  t.equal((stats.get(stat('dec', 'gzip', 'decompressor_library.zlib_data_error')) ?? 0) - (statsBefore.get(stat('dec', 'gzip', 'decompressor_library.zlib_data_error')) ?? 0), 3, 'two responses and one request');
});

t.test('corrupt bodies: the response is reset after what decoded, a request gets 400', async (t) => {
  const a = await get('/corrupt');
  t.equal(a.status, 200);
  t.equal(a.complete, false, 'the client sees the body cut off');
  t.ok(a.raw.length < 200_000, `${a.raw.length} bytes decoded before the damage was found`);
  t.same(a.raw.subarray(0, 50_000), text(200_000).subarray(0, 50_000), 'the body\'s first bytes came first');
  const upload = await request('/upload', 'dec', { method: 'POST', body: Buffer.from('this is not gzip'), headers: { 'content-encoding': 'gzip' } });
  t.equal(upload.status, 400);
  t.equal(upload.raw.toString(), 'Bad Request');
  const truncated = zlib.brotliCompressSync(text(50_000));
  const short = await request('/upload', 'dec', { method: 'POST', body: truncated.subarray(0, truncated.length - 20), headers: { 'content-encoding': 'br' } });
  t.equal(short.status, 400, 'a body that ends before its compressed stream does');
  const stats = await statsMap(legate.adminUrl(''));
  t.ok((stats.get(stat('dec', 'gzip', 'decompressor_library.zlib_data_error')) ?? 0) >= 2);
  t.ok((stats.get(stat('dec', 'brotli', 'decompressor_library.brotli_error')) ?? 0) >= 1);
  t.equal(upstream.seen.filter((r) => r.url === '/upload').length >= 1, true);
});

t.test("Envoy's stats per filter and direction", async (t) => {
  const before = await statsMap(legate.adminUrl(''));
  await get('/text?size=10000&coding=gzip');
  await get('/text?size=10000&coding=br');
  await get('/echo');
  const compressed = zlib.gzipSync(text(5000));
  await request('/upload', 'dec', { method: 'POST', body: compressed, headers: { 'content-encoding': 'gzip' } });
  const delta = (s: Map<string, number>, name: string) => (s.get(name) ?? 0) - (before.get(name) ?? 0);
  const stats = await waitFor('the decompressor counters', async () => {
    const s = await statsMap(legate.adminUrl(''));
    return delta(s, stat('dec', 'gzip', 'request.decompressed')) >= 1 ? s : undefined;
  });
  t.equal(delta(stats, stat('dec', 'gzip', 'response.decompressed')), 1);
  t.equal(delta(stats, stat('dec', 'gzip', 'response.not_decompressed')), 3, 'the br answer, the echo and the upload\'s answer');
  t.equal(delta(stats, stat('dec', 'brotli', 'response.decompressed')), 1);
  t.equal(delta(stats, stat('dec', 'gzip', 'response.total_uncompressed_bytes')), 10000);
  const compressedIn = delta(stats, stat('dec', 'gzip', 'response.total_compressed_bytes'));
  t.ok(compressedIn > 0 && compressedIn < 10000, `response.total_compressed_bytes ${compressedIn}`);
  t.equal(delta(stats, stat('dec', 'gzip', 'request.decompressed')), 1);
  t.equal(delta(stats, stat('dec', 'brotli', 'request.not_decompressed')), 1, 'bodiless requests are not counted, as Envoy');
  t.equal(delta(stats, stat('dec', 'gzip', 'request.total_compressed_bytes')), compressed.length);
  t.equal(delta(stats, stat('dec', 'gzip', 'request.total_uncompressed_bytes')), 5000);
  for (const name of ['zlib_errno', 'zlib_stream_error', 'zlib_data_error', 'zlib_mem_error', 'zlib_buf_error', 'zlib_version_error']) {
    t.ok(stats.has(stat('dec', 'gzip', `decompressor_library.${name}`)), `decompressor_library.${name}`);
  }
  t.ok(stats.has(stat('dec', 'zstd', 'decompressor_library.zstd_checksum_wrong_error')));
});

t.test('what Legate does not build is refused by name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-decompressor-'));
  const write = (name: string, filter: object) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(bootstrap([httpListener('l', route, { http_filters: [filter, router] })], [staticCluster('app', [{ port: upstream.port }])])));
    return path;
  };
  const dictionaries = await runCli(['validate', '-c', write('dict.json', decompressorFilter('zstd', {}, { dictionaries: [{ inline_string: 'dict' }] }))]);
  t.not(dictionaries.code, 0);
  t.match(dictionaries.stderr + dictionaries.stdout, /field 'dictionaries' of envoy\.extensions\.compression\.zstd\.decompressor\.v3\.Zstd is not supported by Legate/);
  const compressorLibrary = await runCli([
    'validate',
    '-c',
    write('lib.json', { name: 'd', typed_config: { '@type': DECOMPRESSOR_TYPE, decompressor_library: { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip' } } } }),
  ]);
  t.not(compressorLibrary.code, 0);
  t.match(compressorLibrary.stderr + compressorLibrary.stdout, /decompressor library 'envoy\.extensions\.compression\.gzip\.compressor\.v3\.Gzip' is not supported by Legate/);
  const ratio = await runCli(['validate', '-c', write('ratio.json', decompressorFilter('gzip', {}, { max_inflate_ratio: 5000 }))]);
  t.match(ratio.stderr + ratio.stdout, /max_inflate_ratio: 5000 is out of range/);
});
