// The compressor filter end to end: a Legate child process in front of an HTTP/1 upstream, clients
// on node:http asking for gzip, br, zstd, several codings with q-values, or none. The listener
// 'stats' chains three compressor filters as Istio's Prometheus listener does (brotli, zstd, gzip
// over the Prometheus content types); 'web' has one gzip filter with Envoy's defaults and
// disable_on_etag_header. Bodies are decoded and compared with what the upstream sent.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';
import { MiB, settledCount } from '../../support/bulk-transfer.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { spawnLegate, type LegateProcess } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';

const COMPRESSOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor';
const PROMETHEUS_TYPES = ['text/plain', 'application/vnd.google.protobuf', 'application/openmetrics-text', 'application/openmetrics-protobuf'];

function compressorFilter(library: 'gzip' | 'brotli' | 'zstd', response: object, extra: object = {}) {
  const message = { gzip: 'Gzip', brotli: 'Brotli', zstd: 'Zstd' }[library];
  return {
    name: `envoy.filters.http.compressor.${library}`,
    typed_config: {
      '@type': COMPRESSOR_TYPE,
      compressor_library: { name: `lib_${library}`, typed_config: { '@type': `type.googleapis.com/envoy.extensions.compression.${library}.compressor.v3.${message}` } },
      response_direction_config: response,
      ...extra,
    },
  };
}

const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };

// The text every compressible answer carries: long enough to compress, stamped so loss shows.
function text(bytes: number): Buffer {
  const line = Buffer.from('legate compressor test line, repeated to fill the body\n');
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += line.length) line.copy(out, i);
  return out;
}

const BIG_CHUNK = 64 * 1024;
const BIG_CHUNKS = 128; // 8 MiB
const STALL_TOTAL = 128 * MiB;
const randomBlock = randomBytes(MiB);
const written = new Map<string, number>();

function drainOrClose(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

/** Writes chunks one after the other, waiting for drain, until done or the response closes. */
async function writeChunks(res: http.ServerResponse, path: string, count: number, chunk: (i: number) => Buffer): Promise<void> {
  written.set(path, 0);
  for (let i = 0; i < count; i++) {
    if (res.destroyed) return;
    const data = chunk(i);
    const more = res.write(data);
    written.set(path, written.get(path)! + data.length);
    if (!more) await drainOrClose(res);
  }
  res.end();
}

function bigChunk(i: number): Buffer {
  const c = text(BIG_CHUNK);
  c.writeUInt32BE(i, 0);
  return c;
}

const upstream = await startUpstream('app', (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const size = Number(url.searchParams.get('size') ?? '4096');
  const type = url.searchParams.get('type') ?? 'text/plain; charset=utf-8';
  const extra: Record<string, string> = {};
  for (const name of ['etag', 'cache-control', 'content-encoding', 'vary']) {
    const value = url.searchParams.get(name);
    if (value !== null) extra[name] = value;
  }
  if (url.pathname === '/upload') {
    // What arrived, as the upstream saw it; octet-stream so the answer itself is not compressed.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(JSON.stringify({ encoding: req.headers['content-encoding'], length: req.headers['content-length'], digest: createHash('sha256').update(zlib.gunzipSync(body)).digest('hex') }));
    });
    return;
  }
  if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    void writeChunks(res, '/big', BIG_CHUNKS, bigChunk);
    return;
  }
  if (url.pathname === '/stall') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    void writeChunks(res, '/stall', STALL_TOTAL / MiB, (i) => {
      const c = Buffer.from(randomBlock);
      c.writeUInt32BE(i, 0);
      return c;
    });
    return;
  }
  const body = text(size);
  if (url.pathname === '/trailers') {
    res.writeHead(200, { 'content-type': type, trailer: 'x-checksum' });
    res.write(body);
    res.addTrailers({ 'x-checksum': String(size) });
    res.end();
    return;
  }
  if (url.pathname === '/chunked') {
    res.writeHead(200, { 'content-type': type, ...extra });
    res.write(body.subarray(0, size >> 1));
    setImmediate(() => res.end(body.subarray(size >> 1)));
    return;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': String(size), ...extra });
  res.end(req.method === 'HEAD' ? undefined : body);
});
t.teardown(() => upstream.close());

// /nocompress turns the gzip filters off for its route (Envoy's CompressorPerRoute).
const gzipOff = { 'envoy.filters.http.compressor.gzip': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute', disabled: true } };
const route = routes([
  { match: { prefix: '/nocompress' }, route: { cluster: 'app' }, typed_per_filter_config: gzipOff },
  { match: { prefix: '/' }, route: { cluster: 'app', timeout: '60s' } },
]);
const statsFilters = ['brotli', 'zstd', 'gzip'].map((l) => compressorFilter(l as 'gzip', { common_config: { content_type: PROMETHEUS_TYPES } }));
const webFilters = [compressorFilter('gzip', { disable_on_etag_header: true }, { request_direction_config: {} })];
let legate: LegateProcess;
try {
  legate = await spawnLegate(
    bootstrap(
      [httpListener('stats', route, { http_filters: [...statsFilters, router] }), httpListener('web', route, { http_filters: [...webFilters, router] })],
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
}

function get(path: string, listener: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(legate.url(path, listener), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode!, headers: res.headers, raw: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

function decode(encoding: string | undefined, raw: Buffer): Buffer {
  switch (encoding) {
    case 'gzip':
      return zlib.gunzipSync(raw);
    case 'br':
      return zlib.brotliDecompressSync(raw);
    case 'zstd':
      return zlib.zstdDecompressSync(raw);
    default:
      return raw;
  }
}

const statPrefix = (listener: string, library: string) => `http.${listener}.compressor.lib_${library}.${library}.`;

t.test('each coding the client asks for compresses the body, which decodes to the upstream\'s', async (t) => {
  for (const [accept, encoding] of [['gzip', 'gzip'], ['br', 'br'], ['zstd', 'zstd'], ['gzip, deflate, br, zstd', 'gzip'], ['br, gzip', 'br']]) {
    const a = await get('/text?size=5000', 'stats', { 'accept-encoding': accept });
    t.equal(a.status, 200);
    t.equal(a.headers['content-encoding'], encoding, `accept-encoding: ${accept}`);
    t.equal(a.headers['content-length'], undefined, 'no content-length: the body goes chunked');
    t.equal(a.headers['transfer-encoding'], 'chunked');
    t.equal(a.headers.vary, 'accept-encoding');
    t.ok(a.raw.length < 5000, `${encoding}: ${a.raw.length} bytes on the wire for 5000`);
    t.same(decode(encoding, a.raw), text(5000), `${encoding} decodes to the upstream's body`);
  }
});

t.test('q-values pick the coding; identity and q=0 turn compression off', async (t) => {
  const cases: [string, string | undefined][] = [
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['br;q=0.2, zstd;q=0.9, gzip;q=0.5', 'zstd'],
    ['zstd, gzip, br', 'zstd'], // equal q-values: the first in the header
    ['*', 'br'], // the first compressor of the chain
    ['gzip;q=0, *', 'br'],
    ['br;q=0, zstd;q=0, *;q=0.5', 'gzip'],
    ['identity', undefined],
    ['gzip;q=0', undefined],
    ['deflate', undefined],
  ];
  for (const [accept, encoding] of cases) {
    const a = await get('/chunked?size=3000', 'stats', { 'accept-encoding': accept });
    t.equal(a.headers['content-encoding'], encoding, `accept-encoding: ${accept}`);
    t.same(decode(encoding, a.raw), text(3000), 'body intact');
  }
  const none = await get('/text?size=3000', 'stats');
  t.equal(none.headers['content-encoding'], undefined, 'no accept-encoding: no compression');
  t.equal(none.headers['content-length'], '3000', 'and the content-length stays');
  t.equal(none.headers.vary, 'accept-encoding', 'vary is set all the same: the resource has compressed forms');
});

t.test('responses that do not qualify pass untouched', async (t) => {
  const accept = { 'accept-encoding': 'gzip' };
  const small = await get('/text?size=29', 'web', accept);
  t.equal(small.headers['content-encoding'], undefined, 'below min_content_length (30)');
  t.equal(small.headers['content-length'], '29');
  const atMin = await get('/text?size=30', 'web', accept);
  t.equal(atMin.headers['content-encoding'], 'gzip', 'exactly min_content_length is compressed');
  const binary = await get('/text?size=3000&type=application/octet-stream', 'web', accept);
  t.equal(binary.headers['content-encoding'], undefined, 'a content type not in the list');
  t.equal(binary.headers.vary, undefined, 'and no vary');
  t.same(binary.raw, text(3000));
  const json = await get('/text?size=3000&type=application/json', 'web', accept);
  t.equal(json.headers['content-encoding'], 'gzip', "application/json is in Envoy's default list");
  const notInStatsList = await get('/text?size=3000&type=application/json', 'stats', accept);
  t.equal(notInStatsList.headers['content-encoding'], undefined, "but not in the Prometheus listener's");
  const already = await get('/text?size=3000&content-encoding=identity', 'web', accept);
  t.equal(already.headers['content-encoding'], 'identity', 'an encoded response is left alone');
  const noTransform = await get('/text?size=3000&cache-control=no-cache,%20no-transform', 'web', accept);
  t.equal(noTransform.headers['content-encoding'], undefined, 'cache-control: no-transform');
  const etag = await get('/text?size=3000&etag=%22abc%22', 'web', accept);
  t.equal(etag.headers['content-encoding'], undefined, 'an etag with disable_on_etag_header');
  t.equal(etag.headers.etag, '"abc"');
  const head = await get('/text?size=3000', 'web', accept, 'HEAD');
  t.equal(head.headers['content-encoding'], undefined, 'HEAD');
  t.equal(head.headers['content-length'], '3000');
  const strong = await get('/text?size=3000&etag=%22abc%22&vary=origin', 'stats', accept);
  t.equal(strong.headers['content-encoding'], 'gzip');
  t.equal(strong.headers.etag, undefined, 'a strong etag is dropped from a compressed response');
  t.equal(strong.headers.vary, 'origin, accept-encoding', 'accept-encoding joins an existing vary');
  const weak = await get('/text?size=3000&etag=W/%22abc%22', 'stats', accept);
  t.equal(weak.headers.etag, 'W/"abc"', 'a weak etag stays');
  const off = await get('/nocompress?size=3000', 'web', accept);
  t.equal(off.headers['content-encoding'], undefined, 'a route whose CompressorPerRoute disables the filter');
  t.equal(off.headers['content-length'], '3000');
  const otherLibrary = await get('/nocompress?size=3000', 'stats', { 'accept-encoding': 'br' });
  t.equal(otherLibrary.headers['content-encoding'], 'br', 'the other compressors of the chain still work there');
});

t.test('request_direction_config: a request body goes upstream compressed', async (t) => {
  const body = text(4 * MiB);
  const answer = await new Promise<{ encoding?: string; length?: string; digest: string }>((resolve, reject) => {
    const req = http.request(legate.url('/upload', 'web'), { method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': String(body.length) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
    });
    req.once('error', reject);
    req.end(body);
  });
  t.equal(answer.encoding, 'gzip', 'the upstream sees content-encoding: gzip');
  t.equal(answer.length, undefined, 'and no content-length');
  t.equal(answer.digest, createHash('sha256').update(body).digest('hex'), 'the body decodes to what the client sent');
});

t.test('trailers follow the compressed body', async (t) => {
  const answer = await new Promise<{ encoding?: string; raw: Buffer; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
    http
      .get(legate.url('/trailers?size=6000', 'stats'), { headers: { 'accept-encoding': 'gzip', te: 'trailers' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolve({ encoding: res.headers['content-encoding'], raw: Buffer.concat(chunks), trailers: res.trailers }));
      })
      .once('error', reject);
  });
  t.equal(answer.encoding, 'gzip');
  t.same(zlib.gunzipSync(answer.raw), text(6000), 'the body decodes');
  t.equal(answer.trailers['x-checksum'], '6000', 'the trailers arrive after it');
});

t.test('an HTTP/2 client gets compressed responses too', async (t) => {
  const session = http2.connect(`http://127.0.0.1:${legate.port('stats')}`);
  t.teardown(() => session.close());
  const answer = await new Promise<{ headers: http2.IncomingHttpHeaders; raw: Buffer }>((resolve, reject) => {
    const req = session.request({ ':path': '/chunked?size=20000', 'accept-encoding': 'br;q=0.5, zstd' });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.once('response', (h) => (headers = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve({ headers, raw: Buffer.concat(chunks) }));
    req.once('error', reject);
  });
  t.equal(answer.headers[':status'], 200);
  t.equal(answer.headers['content-encoding'], 'zstd');
  t.equal(answer.headers['content-length'], undefined);
  t.same(zlib.zstdDecompressSync(answer.raw), text(20000), 'the body decodes');
});

t.test('a large body streams through compressed, intact and with bounded memory', async (t) => {
  const before = legate.rssBytes();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, legate.rssBytes())), 20);
  t.teardown(() => clearInterval(timer));
  const expected = createHash('sha256');
  for (let i = 0; i < BIG_CHUNKS; i++) expected.update(bigChunk(i));
  for (const [accept, stream] of [
    ['gzip', () => zlib.createGunzip()],
    ['br', () => zlib.createBrotliDecompress()],
    ['zstd', () => zlib.createZstdDecompress()],
  ] as const) {
    const digest = await new Promise<{ bytes: number; hash: string; wire: number }>((resolve, reject) => {
      http
        .get(legate.url('/big', 'stats'), { headers: { 'accept-encoding': accept }, agent: false }, (res) => {
          t.equal(res.headers['content-encoding'], accept);
          const hash = createHash('sha256');
          let bytes = 0;
          let wire = 0;
          res.on('data', (c: Buffer) => (wire += c.length));
          const decoder = stream();
          decoder.on('data', (c: Buffer) => {
            bytes += c.length;
            hash.update(c);
          });
          decoder.once('end', () => resolve({ bytes, hash: hash.digest('hex'), wire }));
          decoder.once('error', reject);
          res.pipe(decoder);
        })
        .once('error', reject);
    });
    t.equal(digest.bytes, BIG_CHUNK * BIG_CHUNKS, `${accept}: every byte arrived`);
    t.equal(digest.hash, expected.copy().digest('hex'), `${accept}: in order and unchanged`);
    t.ok(digest.wire < digest.bytes / 4, `${accept}: ${digest.wire} bytes on the wire`);
  }
  clearInterval(timer);
  const growth = peak - before;
  t.ok(growth < 64 * MiB, `proxy RSS grew by ${(growth / MiB).toFixed(0)} MiB over three 8 MiB bodies`);
});

t.test('a client that stops reading a compressed response holds the upstream back', async (t) => {
  const req = http.get(legate.url('/stall', 'stats'), { headers: { 'accept-encoding': 'gzip' }, agent: false });
  t.teardown(() => req.destroy());
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject));
  t.equal(res.headers['content-encoding'], 'gzip');
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
  const stalledAt = await settledCount(() => written.get('/stall') ?? 0);
  t.ok(stalledAt < STALL_TOTAL / 4, `the upstream stalled after ${(stalledAt / MiB).toFixed(1)} MiB of ${STALL_TOTAL / MiB} MiB`);
});

t.test('stats count per filter under Envoy\'s names', async (t) => {
  const gzip = statPrefix('stats', 'gzip');
  const br = statPrefix('stats', 'brotli');
  const before = await statsMap(legate.adminUrl(''));
  await get('/text?size=3000', 'stats', { 'accept-encoding': 'gzip' });
  await get('/text?size=10', 'stats', { 'accept-encoding': 'gzip' });
  await get('/text?size=3000', 'stats');
  const delta = (s: Map<string, number>, name: string) => (s.get(name) ?? 0) - (before.get(name) ?? 0);
  const stats = await waitFor('the compressor counters', async () => {
    const s = await statsMap(legate.adminUrl(''));
    return delta(s, `${gzip}response.compressed`) >= 1 && delta(s, `${gzip}no_accept_header`) >= 1 ? s : undefined;
  });
  t.equal(delta(stats, `${gzip}response.compressed`), 1, 'gzip compressed one');
  t.equal(delta(stats, `${gzip}header_compressor_used`), 1);
  t.equal(delta(stats, `${br}header_compressor_overshadowed`), 1, 'brotli stepped aside for gzip');
  t.equal(delta(stats, `${br}response.not_compressed`), 3);
  t.equal(delta(stats, `${gzip}response.content_length_too_small`), 1);
  t.equal(delta(stats, `${gzip}no_accept_header`), 1);
  t.equal(delta(stats, `${gzip}response.total_uncompressed_bytes`), 3000);
  const compressed = delta(stats, `${gzip}response.total_compressed_bytes`);
  t.ok(compressed > 0 && compressed < 3000, `total_compressed_bytes ${compressed}`);
});
