// The compressor filter's decisions on a fake stream: when a response is compressed and what that
// does to its headers, the counters each decision moves, several compressor filters agreeing on
// one coding, and the body and trailers injected past the filter once compressed.
import zlib from 'node:zlib';
import t from 'tap';
import type { HeaderMap, ResponseHeaders } from '../../../../proxy/codec/index.ts';
import type { CompressorConfig } from '../../../../proxy/config/model.ts';
import { createCompressorFilter } from '../../../../proxy/http/filters/compressor.ts';
import type { HttpFilterInstance } from '../../../../proxy/http/filters/index.ts';
import type { HttpStream } from '../../../../proxy/http/stream.ts';
import { Store } from '../../../../proxy/stats/index.ts';

function config(kind: 'gzip' | 'brotli', extra: Partial<CompressorConfig['response']> = {}): CompressorConfig {
  const library: CompressorConfig['library'] =
    kind === 'gzip'
      ? { kind, level: -1, strategy: 0, memoryLevel: 5, windowBits: 12, chunkSize: 4096 }
      : { kind, quality: 3, windowBits: 18, inputBlockBits: 24, mode: 0, disableLiteralContextModeling: false, chunkSize: 4096 };
  return {
    libraryName: `lib_${kind}`,
    library,
    chooseFirst: false,
    response: { enabled: true, minContentLength: 30, contentTypes: ['text/plain'], disableOnEtagHeader: false, removeAcceptEncodingHeader: false, statsUnder: 'response.', ...extra },
  };
}

interface FakeStream {
  head: { method: string; headers: HeaderMap };
  injected: { from: HttpFilterInstance; data?: Buffer; endStream?: boolean; trailers?: HeaderMap }[];
  watermark: number;
  destroyers: (() => void)[];
  ended: Promise<void>;
}

function fakeStream(method: string, headers: HeaderMap, upgradeType?: string): FakeStream & HttpStream {
  let end = () => {};
  const s = {
    head: { method, headers },
    upgradeType,
    route: null,
    connection: { hcm: { bufferLimitBytes: 16 * 1024 } },
    injected: [] as FakeStream['injected'],
    watermark: 0,
    destroyers: [] as (() => void)[],
    ended: new Promise<void>((resolve) => (end = resolve)),
    injectEncodedData(from: HttpFilterInstance, data: Buffer, endStream: boolean) {
      s.injected.push({ from, data, endStream });
      if (endStream) end();
    },
    injectEncodedTrailers(from: HttpFilterInstance, trailers: HeaderMap) {
      s.injected.push({ from, trailers });
      end();
    },
    // The request direction lands in the same list.
    injectDecodedData(from: HttpFilterInstance, data: Buffer, endStream: boolean) {
      s.injectEncodedData(from, data, endStream);
    },
    injectDecodedTrailers(from: HttpFilterInstance, trailers: HeaderMap) {
      s.injectEncodedTrailers(from, trailers);
    },
    readDisable: (disable: boolean) => (s.watermark += disable ? 1 : -1),
    onEncoderFilterAboveWriteBufferHighWatermark: () => s.watermark++,
    onEncoderFilterBelowWriteBufferLowWatermark: () => s.watermark--,
    onDestroy: (w: { onStreamDestroy(): void }) => s.destroyers.push(() => w.onStreamDestroy()),
    resetStream: () => {},
  };
  return s as unknown as FakeStream & HttpStream;
}

function setup(configs: CompressorConfig[]) {
  const store = new Store();
  const ctx = { store, statPrefix: 'stats', log: () => {}, clusterStatName: () => undefined };
  const filters = configs.map((c, i) => createCompressorFilter(c, ctx, `compressor${i}`));
  const counter = (name: string) => store.counter(`http.stats.compressor.${name}`).value;
  /** Runs a request's headers and a response's headers through the chain as the connection manager does. */
  const exchange = (accept: string | undefined, response: ResponseHeaders, opts: { method?: string; endStream?: boolean; upgrade?: string } = {}) => {
    const stream = fakeStream(opts.method ?? 'GET', accept === undefined ? {} : { 'accept-encoding': accept }, opts.upgrade);
    for (const f of filters) f.decodeHeaders!(stream, false);
    for (let i = filters.length - 1; i >= 0; i--) filters[i].encodeHeaders!(stream, response, opts.endStream ?? false);
    return stream;
  };
  return { filters, counter, exchange };
}

const textResponse = (headers: HeaderMap = {}): ResponseHeaders => ({ status: 200, headers: { 'content-type': 'text/plain', 'content-length': '100', ...headers } });

t.test('a qualifying response gets the coding, loses its content-length and gains vary', async (t) => {
  const { exchange, counter } = setup([config('gzip')]);
  const response = textResponse({ etag: '"strong"' });
  exchange('gzip', response);
  t.same(response.headers, { 'content-type': 'text/plain', 'content-encoding': 'gzip', vary: 'accept-encoding' });
  t.equal(counter('lib_gzip.gzip.response.compressed'), 1);
  t.equal(counter('lib_gzip.gzip.header_compressor_used'), 1);
  t.equal(counter('lib_gzip.gzip.request.not_compressed'), 1, 'request bodies are never compressed');
});

t.test('what keeps a response uncompressed, and the counter it moves', async (t) => {
  const cases: [string, string | undefined, ResponseHeaders, { method?: string; endStream?: boolean; upgrade?: string }, string | undefined, boolean][] = [
    ['no accept-encoding', undefined, textResponse(), {}, 'no_accept_header', true],
    ['identity', 'identity', textResponse(), {}, 'header_identity', true],
    ['an unknown coding', 'deflate', textResponse(), {}, 'header_not_valid', true],
    ['too short', 'gzip', textResponse({ 'content-length': '29' }), {}, 'response.content_length_too_small', false],
    ['another content type', 'gzip', textResponse({ 'content-type': 'image/png' }), {}, undefined, false],
    ['already encoded', 'gzip', textResponse({ 'content-encoding': 'br' }), {}, undefined, false],
    ['no-transform', 'gzip', textResponse({ 'cache-control': 'public, No-Transform' }), {}, undefined, false],
    ['a compressed transfer-encoding', 'gzip', textResponse({ 'transfer-encoding': 'gzip, chunked' }), {}, undefined, true],
    ['a HEAD request', 'gzip', textResponse(), { method: 'HEAD' }, undefined, true],
    ['no body', 'gzip', textResponse(), { endStream: true }, undefined, true],
    ['204', 'gzip', { status: 204, headers: { 'content-type': 'text/plain' } }, {}, undefined, true],
    ['304', 'gzip', { status: 304, headers: { 'content-type': 'text/plain' } }, {}, undefined, true],
    ['a CONNECT tunnel', 'gzip', { status: 200, headers: {} }, { upgrade: 'connect' }, undefined, false],
  ];
  for (const [what, accept, response, opts, stat, vary] of cases) {
    const { exchange, counter } = setup([config('gzip')]);
    const before = { ...response.headers };
    exchange(accept, response, opts);
    t.equal(response.headers['content-encoding'], before['content-encoding'], `${what}: not compressed`);
    t.equal(response.headers['content-length'], before['content-length'], `${what}: content-length kept`);
    t.equal(response.headers.vary, vary ? 'accept-encoding' : undefined, `${what}: vary ${vary ? 'added' : 'not added'}`);
    t.equal(counter('lib_gzip.gzip.response.not_compressed'), 1, `${what}: not_compressed`);
    if (stat !== undefined) t.equal(counter(`lib_gzip.gzip.${stat}`), 1, `${what}: ${stat}`);
  }
});

t.test('disable_on_etag_header, weak etags and remove_accept_encoding_header', async (t) => {
  const etag = setup([config('gzip', { disableOnEtagHeader: true })]);
  const response = textResponse({ etag: 'W/"x"' });
  etag.exchange('gzip', response);
  t.equal(response.headers['content-encoding'], undefined, 'any etag keeps it uncompressed');
  t.equal(etag.counter('lib_gzip.gzip.not_compressed_etag'), 1);
  const weak = setup([config('gzip')]);
  const kept = textResponse({ etag: 'W/"x"' });
  weak.exchange('gzip', kept);
  t.equal(kept.headers.etag, 'W/"x"', 'a weak etag survives compression');
  const removing = setup([config('gzip', { removeAcceptEncodingHeader: true })]);
  const stream = removing.exchange('gzip', textResponse());
  t.equal(stream.head.headers['accept-encoding'], undefined, 'the upstream does not see accept-encoding');
  t.equal(removing.counter('lib_gzip.gzip.response.compressed'), 1, 'and the response is compressed all the same');
});

t.test('disabled response direction: nothing compressed, no header stats', async (t) => {
  const { exchange, counter } = setup([config('gzip', { enabled: false })]);
  const response = textResponse();
  exchange('gzip', response);
  t.equal(response.headers['content-encoding'], undefined);
  t.equal(counter('lib_gzip.gzip.header_compressor_used'), 0);
  t.equal(counter('lib_gzip.gzip.response.not_compressed'), 1);
});

t.test('two compressor filters agree on one coding', async (t) => {
  const { exchange, counter } = setup([config('brotli'), config('gzip')]);
  const response = textResponse();
  exchange('gzip;q=0.5, br', response);
  t.equal(response.headers['content-encoding'], 'br');
  t.equal(counter('lib_brotli.brotli.header_compressor_used'), 1);
  t.equal(counter('lib_gzip.gzip.header_compressor_overshadowed'), 1);
  t.equal(counter('lib_gzip.gzip.response.not_compressed'), 1);
});

t.test('the body is compressed chunk by chunk and injected past the filter; trailers wait for its end', async (t) => {
  const { filters, exchange, counter } = setup([config('gzip')]);
  const stream = exchange('gzip', textResponse());
  const body = Buffer.alloc(10_000, 'abcdefgh');
  t.equal(filters[0].encodeData!(stream, body.subarray(0, 4000), false), 'stop', 'the filter takes the data');
  t.equal(filters[0].encodeData!(stream, body.subarray(4000), false), 'stop');
  t.equal(filters[0].encodeTrailers!(stream, { 'x-checksum': '1' }), 'stop', 'and holds the trailers');
  await stream.ended;
  t.ok(stream.injected.every((i) => i.from === filters[0]), 'injected from the compressor');
  const last = stream.injected.at(-1)!;
  t.same(last.trailers, { 'x-checksum': '1' }, 'the trailers come last');
  const compressed = Buffer.concat(stream.injected.flatMap((i) => (i.data === undefined ? [] : [i.data])));
  t.same(zlib.gunzipSync(compressed), body, 'the injected bytes decode to the body');
  t.equal(counter('lib_gzip.gzip.response.total_uncompressed_bytes'), 10_000);
  t.equal(counter('lib_gzip.gzip.response.total_compressed_bytes'), compressed.length);
  t.equal(stream.watermark, 0, 'no watermark left raised');
});

t.test('more input than the buffer limit waiting for the compressor raises the watermark until it drains', async (t) => {
  const { filters, exchange } = setup([config('gzip')]);
  const stream = exchange('gzip', textResponse());
  filters[0].encodeData!(stream, Buffer.alloc(64 * 1024, 'a'), false);
  t.equal(stream.watermark, 1, 'above: the router would stop reading the upstream');
  filters[0].encodeData!(stream, Buffer.alloc(64 * 1024, 'b'), true);
  t.equal(stream.watermark, 1, 'raised once');
  await stream.ended;
  t.equal(stream.watermark, 0, 'lowered once drained');
});

t.test('request_direction_config: a qualifying request body is compressed on its way upstream', async (t) => {
  const { filters, counter } = setup([{ ...config('gzip'), request: { minContentLength: 30, contentTypes: ['text/plain'] } }]);
  const request = (headers: HeaderMap, endStream = false) => {
    const stream = fakeStream('POST', { 'content-type': 'text/plain', 'content-length': '100', ...headers });
    filters[0].decodeHeaders!(stream, endStream);
    return stream;
  };
  const stream = request({});
  t.same(stream.head.headers, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, 'content-encoding set, content-length gone');
  const body = Buffer.alloc(100, 'request body ');
  t.equal(filters[0].decodeData!(stream, body.subarray(0, 60), false), 'stop');
  t.equal(filters[0].decodeTrailers!(stream, { 'x-t': '1' }), 'stop', 'trailers wait for the compressed end');
  await stream.ended;
  const compressed = Buffer.concat(stream.injected.flatMap((i) => (i.data === undefined ? [] : [i.data])));
  t.same(zlib.gunzipSync(compressed), body.subarray(0, 60));
  t.same(stream.injected.at(-1)!.trailers, { 'x-t': '1' });
  t.equal(counter('lib_gzip.gzip.request.compressed'), 1);
  t.equal(counter('lib_gzip.gzip.request.total_uncompressed_bytes'), 60);
  t.equal(counter('lib_gzip.gzip.request.total_compressed_bytes'), compressed.length);
  for (const [what, headers, endStream] of [
    ['too short', { 'content-length': '10' }, false],
    ['another content type', { 'content-type': 'image/png' }, false],
    ['already encoded', { 'content-encoding': 'br' }, false],
    ['no body', {}, true],
  ] as const) {
    const plain = request(headers, endStream);
    t.equal(plain.head.headers['content-encoding'], (headers as HeaderMap)['content-encoding'], `${what}: not compressed`);
    t.equal(filters[0].decodeData!(plain, Buffer.from('x'), true), 'continue');
  }
  t.equal(counter('lib_gzip.gzip.request.not_compressed'), 4);
  t.equal(counter('lib_gzip.gzip.request.content_length_too_small'), 1);
});

t.test('an uncompressed response passes its data on', async (t) => {
  const { filters, exchange } = setup([config('gzip')]);
  const stream = exchange(undefined, textResponse());
  t.equal(filters[0].encodeData!(stream, Buffer.from('x'), true), 'continue');
  t.equal(filters[0].encodeTrailers!(stream, {}), 'continue');
});

t.test('a stream destroyed mid-body destroys its compressor', async (t) => {
  const { filters, exchange } = setup([config('gzip')]);
  const stream = exchange('gzip', textResponse());
  filters[0].encodeData!(stream, Buffer.alloc(100, 'a'), false);
  for (const destroy of stream.destroyers) destroy();
  filters[0].encodeData!(stream, Buffer.alloc(100, 'a'), true);
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(stream.injected.some((i) => i.endStream === true), 'nothing ends after the stream is gone');
});
