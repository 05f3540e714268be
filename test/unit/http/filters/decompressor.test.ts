// The decompressor filter's decisions on a fake stream: which bodies it decompresses and what that
// does to their headers, accept-encoding advertised upstream, the decompressed body and the
// byte-count trailers injected past the filter, Envoy's counters, the bomb guard and corrupt data
// (counted under the library's names; 400/413 or a reset), and the response's flow control (its
// output pauses while the downstream is backed up, and its own back-up never deadlocks it).
import zlib from 'node:zlib';
import t from 'tap';
import type { HeaderMap, ResponseHeaders } from '../../../../proxy/codec/index.ts';
import type { DecompressorConfig, DecompressorLibrary } from '../../../../proxy/config/model.ts';
import { addEncodingToAcceptEncoding, createDecompressorFilter, firstCoding, withoutFirstCoding } from '../../../../proxy/http/filters/decompressor.ts';
import type { HttpFilterInstance } from '../../../../proxy/http/filters/index.ts';
import type { HttpStream } from '../../../../proxy/http/stream.ts';
import type { WatermarkCallbacks } from '../../../../proxy/http-filter/index.ts';
import { Store } from '../../../../proxy/stats/index.ts';

const LIBRARIES: Record<DecompressorLibrary['kind'], DecompressorLibrary> = {
  gzip: { kind: 'gzip', windowBits: 15, chunkSize: 4096, maxInflateRatio: 100 },
  brotli: { kind: 'brotli', disableRingBufferReallocation: false, chunkSize: 4096, maxInflateRatio: 100 },
  zstd: { kind: 'zstd', chunkSize: 4096, maxInflateRatio: 100 },
};

function config(kind: DecompressorLibrary['kind'] = 'gzip', extra: Partial<DecompressorConfig> = {}): DecompressorConfig {
  return {
    libraryName: 'Up',
    library: LIBRARIES[kind],
    request: { enabled: true, ignoreNoTransformHeader: false, advertiseAcceptEncoding: true },
    response: { enabled: true, ignoreNoTransformHeader: false },
    ...extra,
  };
}

interface Injected {
  data?: Buffer;
  endStream?: boolean;
  trailers?: HeaderMap;
}

/** A stream with HttpStream's watermark rule: the callbacks hear one state, the codec or any filter backed up. */
function fakeStream(method: string, headers: HeaderMap, opts: { upgradeType?: string; bufferLimitBytes?: number } = {}) {
  let end = () => {};
  const callbacks: WatermarkCallbacks[] = [];
  let codecBackedUp = false;
  let filtersBackedUp = 0;
  const notify = (above: boolean) => callbacks.forEach((c) => (above ? c.onAboveWriteBufferHighWatermark() : c.onBelowWriteBufferLowWatermark()));
  const s = {
    head: { method, headers },
    upgradeType: opts.upgradeType,
    route: null,
    responseStarted: false,
    info: { responseCodeDetails: undefined as string | undefined },
    connection: { hcm: { bufferLimitBytes: opts.bufferLimitBytes ?? 1024 * 1024 } },
    injected: [] as Injected[],
    readDisabled: 0,
    resets: 0,
    localReplies: [] as { status: number; body: string; details: string }[],
    destroyers: [] as (() => void)[],
    ended: new Promise<void>((resolve) => (end = resolve)),
    get filtersBackedUp() {
      return filtersBackedUp;
    },
    injectEncodedData(_from: HttpFilterInstance, data: Buffer, endStream: boolean) {
      s.injected.push({ data, endStream });
      if (endStream) end();
    },
    injectEncodedTrailers(_from: HttpFilterInstance, trailers: HeaderMap) {
      s.injected.push({ trailers });
      end();
    },
    injectDecodedData(from: HttpFilterInstance, data: Buffer, endStream: boolean) {
      s.injectEncodedData(from, data, endStream);
    },
    injectDecodedTrailers(from: HttpFilterInstance, trailers: HeaderMap) {
      s.injectEncodedTrailers(from, trailers);
    },
    readDisable: (disable: boolean) => (s.readDisabled += disable ? 1 : -1),
    addWatermarkCallbacks: (c: WatermarkCallbacks) => callbacks.push(c),
    /** The codec's write queue crossing its watermarks. */
    codecWatermark(above: boolean) {
      if (codecBackedUp === above) return;
      codecBackedUp = above;
      if (filtersBackedUp === 0) notify(above);
    },
    onEncoderFilterAboveWriteBufferHighWatermark() {
      filtersBackedUp++;
      if (filtersBackedUp === 1 && !codecBackedUp) notify(true);
    },
    onEncoderFilterBelowWriteBufferLowWatermark() {
      if (filtersBackedUp === 0) return;
      filtersBackedUp--;
      if (filtersBackedUp === 0 && !codecBackedUp) notify(false);
    },
    onDestroy: (w: { onStreamDestroy(): void }) => s.destroyers.push(() => w.onStreamDestroy()),
    resetStream: () => {
      s.resets++;
      end();
    },
    sendLocalReply(status: number, body: string, _flag: string, details: string) {
      if (s.responseStarted) return s.resetStream();
      s.localReplies.push({ status, body, details });
      end();
    },
  };
  return s;
}

type Fake = ReturnType<typeof fakeStream>;
const asStream = (s: Fake) => s as unknown as HttpStream;

function setup(c: DecompressorConfig = config()) {
  const store = new Store();
  const ctx = { store, statPrefix: 'ingress', log: () => {}, clusterStatName: () => undefined };
  const filter = createDecompressorFilter(c, ctx, 'envoy.filters.http.decompressor');
  const counter = (name: string) => store.counter(`http.ingress.decompressor.Up.${c.library.kind}.${name}`).value;
  const response = (headers: HeaderMap, opts: { endStream?: boolean; upgradeType?: string; bufferLimitBytes?: number } = {}) => {
    const stream = fakeStream('GET', {}, opts);
    filter.decodeHeaders!(asStream(stream), true);
    const head: ResponseHeaders = { status: 200, headers };
    filter.encodeHeaders!(asStream(stream), head, opts.endStream ?? false);
    stream.responseStarted = true;
    return { stream, head };
  };
  const request = (headers: HeaderMap, endStream = false) => {
    const stream = fakeStream('POST', headers);
    filter.decodeHeaders!(asStream(stream), endStream);
    return stream;
  };
  return { filter, store, counter, response, request };
}

const dataOf = (s: Fake) => Buffer.concat(s.injected.flatMap((i) => (i.data === undefined ? [] : [i.data])));
// Words in a pseudo-random order: text that compresses a few times over, well below the guard's 100.
const WORDS = ['legate', 'envoy', 'proxy', 'stream', 'body', 'gzip', 'brotli', 'zstd', 'header', 'trailer', 'route', 'cluster', 'filter', 'chain', 'bytes'];
function text(bytes: number): Buffer {
  let seed = 42;
  let out = '';
  while (out.length < bytes) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    out += `${WORDS[seed % WORDS.length]}${seed % 7 === 0 ? '\n' : ' '}${seed % 1000} `;
  }
  return Buffer.from(out.slice(0, bytes));
}

t.test("Envoy's header rules: the first coding, case-insensitive; the rest stays; accept-encoding", async (t) => {
  t.equal(firstCoding('gzip'), 'gzip');
  t.equal(firstCoding(' GZip , br'), 'gzip');
  t.equal(firstCoding(['br', 'gzip']), 'br', 'several header lines are one list');
  t.equal(firstCoding(undefined), undefined);
  t.equal(withoutFirstCoding('gzip'), undefined, 'the only coding: the header goes');
  t.equal(withoutFirstCoding('gzip, br'), 'br');
  t.equal(withoutFirstCoding(' gzip ,  br ,zstd '), 'br ,zstd');
  t.equal(withoutFirstCoding(['gzip', 'br']), 'br');
  // Envoy's HeaderUtility test cases.
  t.equal(addEncodingToAcceptEncoding('one,two', 'three'), 'one,two,three');
  t.equal(addEncodingToAcceptEncoding('one,two', 'one'), 'two,one');
  t.equal(addEncodingToAcceptEncoding('one;q=0.3,two', 'two'), 'one;q=0.3,two');
  t.equal(addEncodingToAcceptEncoding('one;q=0.3,two', 'one'), 'two,one');
  t.equal(addEncodingToAcceptEncoding('', 'one'), 'one');
});

t.test('a gzip response: decompressed, content-encoding and content-length go, counted', async (t) => {
  const { filter, response, counter } = setup();
  const body = text(20_000);
  const { stream, head } = response({ 'content-encoding': 'gzip', 'content-length': '123', 'content-type': 'text/plain' });
  t.same(head.headers, { 'content-type': 'text/plain' });
  t.equal(counter('response.decompressed'), 1);
  const compressed = zlib.gzipSync(body);
  t.equal(filter.encodeData!(asStream(stream), compressed.subarray(0, 100), false), 'stop', 'the filter takes the data');
  t.equal(filter.encodeData!(asStream(stream), compressed.subarray(100), true), 'stop');
  await stream.ended;
  t.same(dataOf(stream), body, 'the injected bytes are the body');
  t.same(stream.injected.at(-1)!.trailers, { 'x-envoy-decompressor-up-compressed-bytes': String(compressed.length), 'x-envoy-decompressor-up-uncompressed-bytes': '20000' }, 'byte-count trailers end it');
  t.equal(counter('response.total_compressed_bytes'), compressed.length);
  t.equal(counter('response.total_uncompressed_bytes'), 20_000);
  t.equal(stream.filtersBackedUp, 0, 'no watermark left raised');
});

t.test('trailers from upstream keep coming after the decompressed body, with the byte counts', async (t) => {
  const { filter, response } = setup(config('brotli'));
  const { stream, head } = response({ 'content-encoding': 'br, gzip' });
  t.equal(head.headers['content-encoding'], 'gzip', 'the inner coding stays');
  const inner = zlib.gzipSync(text(3000));
  filter.encodeData!(asStream(stream), zlib.brotliCompressSync(inner), false);
  t.equal(filter.encodeTrailers!(asStream(stream), { 'x-checksum': 'abc' }), 'stop', 'and holds the trailers');
  await stream.ended;
  t.same(dataOf(stream), inner, 'brotli undone, gzip left');
  t.match(stream.injected.at(-1)!.trailers, { 'x-checksum': 'abc', 'x-envoy-decompressor-up-uncompressed-bytes': String(inner.length) });
});

t.test('what is left alone, and the counter it moves', async (t) => {
  const cases: [string, HeaderMap, { endStream?: boolean; upgradeType?: string }, boolean][] = [
    ['no content-encoding', {}, {}, true],
    ['another coding', { 'content-encoding': 'br' }, {}, true],
    ['gzip not first', { 'content-encoding': 'br, gzip' }, {}, true],
    ['no-transform', { 'content-encoding': 'gzip', 'cache-control': 'max-age=60, No-Transform' }, {}, true],
    ['a CONNECT tunnel', { 'content-encoding': 'gzip' }, { upgradeType: 'connect' }, true],
    ['no body (not counted, as Envoy)', { 'content-encoding': 'gzip' }, { endStream: true }, false],
  ];
  for (const [what, headers, opts, counted] of cases) {
    const { filter, response, counter } = setup();
    const before = { ...headers, 'content-length': '10' };
    const { stream, head } = response({ ...before }, opts);
    t.same(head.headers, before, `${what}: headers untouched`);
    t.equal(counter('response.not_decompressed'), counted ? 1 : 0, `${what}: not_decompressed`);
    t.equal(filter.encodeData!(asStream(stream), Buffer.from('x'), true), 'continue', `${what}: data passes`);
  }
  const ignoring = setup(config('gzip', { response: { enabled: true, ignoreNoTransformHeader: true } }));
  const { head } = ignoring.response({ 'content-encoding': 'gzip', 'cache-control': 'no-transform' });
  t.equal(head.headers['content-encoding'], undefined, 'ignore_no_transform_header decompresses it all the same');
  t.equal(ignoring.counter('response.decompressed'), 1);
  const off = setup(config('gzip', { response: { enabled: false, ignoreNoTransformHeader: false } }));
  t.equal(off.response({ 'content-encoding': 'gzip' }).head.headers['content-encoding'], 'gzip', 'response direction off');
  t.equal(off.counter('response.not_decompressed'), 1);
});

t.test('accept-encoding is advertised upstream while responses are decompressed', async (t) => {
  const on = setup();
  t.same(on.request({ 'accept-encoding': 'gzip;q=0.5, br' }, true).head.headers, { 'accept-encoding': 'br,gzip' }, 'the library\'s coding, last and at full weight');
  t.same(on.request({}, true).head.headers, { 'accept-encoding': 'gzip' }, 'even on a request without a body');
  const brotli = setup(config('brotli'));
  t.same(brotli.request({ 'accept-encoding': 'gzip' }, true).head.headers, { 'accept-encoding': 'gzip,br' });
  const quiet = setup(config('gzip', { request: { enabled: true, ignoreNoTransformHeader: false, advertiseAcceptEncoding: false } }));
  t.same(quiet.request({}, true).head.headers, {}, 'advertise_accept_encoding: false');
  const responsesOff = setup(config('gzip', { response: { enabled: false, ignoreNoTransformHeader: false } }));
  t.same(responsesOff.request({ 'accept-encoding': 'br' }, true).head.headers, { 'accept-encoding': 'br' }, 'not while response decompression is off');
});

t.test('a gzip request body goes on decompressed, its trailers after it', async (t) => {
  const { filter, request, counter } = setup();
  const body = text(50_000);
  const stream = request({ 'content-encoding': 'GZIP', 'content-length': '999', 'content-type': 'application/json' });
  t.same(stream.head.headers, { 'content-type': 'application/json', 'accept-encoding': 'gzip' });
  const compressed = zlib.gzipSync(body);
  for (let i = 0; i < compressed.length; i += 1000) t.equal(filter.decodeData!(asStream(stream), compressed.subarray(i, i + 1000), false), 'stop');
  t.equal(filter.decodeTrailers!(asStream(stream), { 'x-t': '1' }), 'stop');
  await stream.ended;
  t.same(dataOf(stream), body);
  t.same(stream.injected.at(-1)!.trailers, { 'x-t': '1', 'x-envoy-decompressor-up-compressed-bytes': String(compressed.length), 'x-envoy-decompressor-up-uncompressed-bytes': '50000' });
  t.equal(counter('request.decompressed'), 1);
  t.equal(counter('request.total_uncompressed_bytes'), 50_000);
  t.equal(stream.readDisabled, 0, 'the client is read again');
  const plain = request({ 'content-type': 'application/json' });
  t.equal(filter.decodeData!(asStream(plain), Buffer.from('{}'), true), 'continue');
  t.equal(counter('request.not_decompressed'), 1);
});

t.test('an empty body with a content-encoding ends as it came: trailers say 0 and 0', async (t) => {
  const { filter, response, store } = setup();
  const { stream } = response({ 'content-encoding': 'gzip' });
  filter.encodeData!(asStream(stream), Buffer.alloc(0), true);
  await stream.ended;
  t.equal(stream.resets, 0);
  t.same(stream.injected, [{ trailers: { 'x-envoy-decompressor-up-compressed-bytes': '0', 'x-envoy-decompressor-up-uncompressed-bytes': '0' } }]);
  t.equal(store.counter('http.ingress.decompressor.Up.gzip.decompressor_library.zlib_buf_error').value, 0);
});

// 1 MiB of zeros is ~1 KiB of gzip: a ratio of ~1000, ten times Envoy's default guard.
const bomb = zlib.gzipSync(Buffer.alloc(1024 * 1024));

t.test('the bomb guard stops a response within a chunk of the ratio, counted as zlib_data_error, and resets', async (t) => {
  const { filter, response, store } = setup();
  const { stream } = response({ 'content-encoding': 'gzip' });
  filter.encodeData!(asStream(stream), bomb, true);
  await stream.ended;
  const out = dataOf(stream).length;
  t.ok(out <= 100 * bomb.length, `${out} bytes passed on for ${bomb.length} in: at most the ratio`);
  t.ok(out < 1024 * 1024 / 4, 'far from the expanded size');
  t.equal(stream.resets, 1, 'the client learns its body is not whole');
  t.equal(stream.injected.some((i) => i.trailers !== undefined || i.endStream === true), false, 'the body is never ended as if whole');
  t.equal(store.counter('http.ingress.decompressor.Up.gzip.decompressor_library.zlib_data_error').value, 1);
  t.equal(stream.info.responseCodeDetails, 'response_decompression_failed{zlib_data_error}');
  const generous = setup(config('gzip', { library: { ...LIBRARIES.gzip, maxInflateRatio: 1032 } }));
  const ok = generous.response({ 'content-encoding': 'gzip' }).stream;
  generous.filter.encodeData!(asStream(ok), bomb, true);
  await ok.ended;
  t.equal(dataOf(ok).length, 1024 * 1024, 'max_inflate_ratio 1032 lets the same body through');
});

t.test('the bomb guard on a request: 413, and brotli and zstd count under their own names', async (t) => {
  for (const [kind, compressed, stat] of [
    ['gzip', bomb, 'zlib_data_error'],
    ['brotli', zlib.brotliCompressSync(Buffer.alloc(1024 * 1024)), 'brotli_error'],
    ['zstd', zlib.zstdCompressSync(Buffer.alloc(1024 * 1024)), 'zstd_generic_error'],
  ] as const) {
    const { filter, request, store } = setup(config(kind));
    const stream = request({ 'content-encoding': kind === 'brotli' ? 'br' : kind });
    filter.decodeData!(asStream(stream), compressed, true);
    await stream.ended;
    t.same(stream.localReplies, [{ status: 413, body: 'Payload Too Large', details: `request_decompression_failed{${stat}}` }], `${kind}: 413`);
    t.equal(store.counter(`http.ingress.decompressor.Up.${kind}.decompressor_library.${stat}`).value, 1, `${kind}: ${stat}`);
    t.ok(dataOf(stream).length <= 100 * compressed.length + 64 * 1024, `${kind}: bounded output`);
  }
});

t.test('corrupt and truncated bodies: 400 for a request not yet answered, a reset otherwise', async (t) => {
  const good = zlib.gzipSync(text(10_000));
  const corrupt = Buffer.from(good);
  corrupt.fill(0xff, 20, 40);
  const checksummed = zlib.zstdCompressSync(text(10_000), { params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 } });
  const badChecksum = Buffer.from(checksummed);
  badChecksum[badChecksum.length - 1] ^= 0xff;
  const cases: [DecompressorLibrary['kind'], Buffer, string, string][] = [
    ['gzip', corrupt, 'zlib_data_error', 'gzip'],
    ['gzip', good.subarray(0, good.length - 10), 'zlib_buf_error', 'gzip'],
    ['gzip', Buffer.from('not gzip at all, just text'), 'zlib_data_error', 'gzip'],
    ['brotli', Buffer.from('not brotli at all, just text'), 'brotli_error', 'br'],
    ['zstd', badChecksum, 'zstd_checksum_wrong_error', 'zstd'],
    ['zstd', Buffer.from('not zstd at all, just text'), 'zstd_generic_error', 'zstd'],
  ];
  for (const [kind, body, stat, coding] of cases) {
    const { filter, request, response, store } = setup(config(kind));
    const up = request({ 'content-encoding': coding });
    filter.decodeData!(asStream(up), body, true);
    await up.ended;
    t.same(up.localReplies, [{ status: 400, body: 'Bad Request', details: `request_decompression_failed{${stat}}` }], `${kind} ${stat}: request 400`);
    const answered = request({ 'content-encoding': coding });
    answered.responseStarted = true;
    filter.decodeData!(asStream(answered), body, true);
    await answered.ended;
    t.equal(answered.resets, 1, `${kind} ${stat}: a request already answered is reset`);
    const down = response({ 'content-encoding': coding }).stream;
    filter.encodeData!(asStream(down), body, true);
    await down.ended;
    t.equal(down.resets, 1, `${kind} ${stat}: response reset`);
    t.equal(store.counter(`http.ingress.decompressor.Up.${kind}.decompressor_library.${stat}`).value, 3, `${kind}: ${stat} counted each time`);
  }
});

t.test('a backed-up downstream pauses the output and the input waits compressed; both resume', async (t) => {
  const { filter, response } = setup();
  const body = text(4 * 1024 * 1024);
  const compressed = zlib.gzipSync(body, { level: 1 });
  const { stream } = response({ 'content-encoding': 'gzip' });
  stream.codecWatermark(true); // the router stops reading the upstream on this same signal
  for (let offset = 0; offset < compressed.length; offset += 64 * 1024) {
    filter.encodeData!(asStream(stream), compressed.subarray(offset, offset + 64 * 1024), offset + 64 * 1024 >= compressed.length);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const pausedOutput = dataOf(stream).length;
  t.ok(pausedOutput < 512 * 1024, `${pausedOutput} of ${body.length} bytes came out while the downstream was backed up`);
  t.equal(stream.filtersBackedUp, 0, "the full input queue is not reported while paused: it would hold the state raised after the downstream drained");
  stream.codecWatermark(false);
  t.equal(stream.filtersBackedUp, 1, 'resumed with a full queue: now it holds the upstream back');
  await stream.ended;
  t.same(dataOf(stream), body, 'every byte, in order');
  t.equal(stream.filtersBackedUp, 0, 'no watermark left raised');
});

t.test('its own input back-up holds the upstream without pausing its output (no deadlock)', async (t) => {
  const { filter, response } = setup();
  const body = text(2 * 1024 * 1024);
  const compressed = zlib.gzipSync(body, { level: 1 });
  const { stream } = response({ 'content-encoding': 'gzip' }, { bufferLimitBytes: 16 * 1024 });
  filter.encodeData!(asStream(stream), compressed.subarray(0, 64 * 1024), false);
  t.equal(stream.filtersBackedUp, 1, 'above its 16 KiB queue: reported');
  filter.encodeData!(asStream(stream), compressed.subarray(64 * 1024), true);
  await stream.ended;
  t.same(dataOf(stream), body);
  t.equal(stream.filtersBackedUp, 0, 'lowered once drained');
});

t.test('a stream destroyed mid-body destroys its decompressor', async (t) => {
  const { filter, response } = setup();
  const { stream } = response({ 'content-encoding': 'gzip' });
  filter.encodeData!(asStream(stream), zlib.gzipSync(text(1000)).subarray(0, 50), false);
  for (const d of stream.destroyers) d();
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(stream.resets, 0, 'no failure reported for a body nobody waits for');
});
