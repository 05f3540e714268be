// The connection manager against an in-memory codec and pool: route lookup, the filter chain's
// stop/continue with the body buffered meanwhile, local replies, stats and the stream's end.
import t from 'tap';
import type { HeaderMap, RequestHeaders, ResponseEncoder, ResponseHeaders, Stream, StreamCallbacks, StreamResetReason } from '../../../proxy/codec/index.ts';
import type { HttpConnectionManager } from '../../../proxy/config/model.ts';
import type { FilterStatus, HttpFilter } from '../../../proxy/http-filter/index.ts';
import { HttpConnectionManagerHandler } from '../../../proxy/http/index.ts';
import { HttpStream, type StreamConnection } from '../../../proxy/http/stream.ts';
import { RouteTable } from '../../../proxy/router/index.ts';
import { directResponse, route, routeAction, routeConfig, virtualHost } from '../router/builders.ts';
import { RouterHarness } from '../router/support.ts';

/** The codec's side of one stream: records what the connection manager encodes. */
class FakeEncoder implements ResponseEncoder, Stream {
  readonly stream = this;
  readonly localAddress = '127.0.0.1:10000';
  readonly remoteAddress = '127.0.0.1:50000';
  callbacks: StreamCallbacks | null = null;
  headers: ResponseHeaders | null = null;
  informational: number[] = [];
  data: Buffer[] = [];
  ended = false;
  resetBy: StreamResetReason | null = null;
  readDisabled = 0;
  get headersSent(): boolean {
    return this.headers !== null;
  }
  setCallbacks(callbacks: StreamCallbacks): void {
    this.callbacks = callbacks;
  }
  resetStream(reason: StreamResetReason): void {
    this.resetBy = reason;
  }
  readDisable(disable: boolean): void {
    this.readDisabled += disable ? 1 : -1;
  }
  encode1xxHeaders(headers: ResponseHeaders): void {
    this.informational.push(headers.status);
  }
  encodeHeaders(headers: ResponseHeaders, endStream: boolean): void {
    this.headers = headers;
    this.ended = endStream;
  }
  encodeData(data: Buffer, endStream: boolean): void {
    this.data.push(data);
    this.ended = endStream;
  }
  encodeTrailers(_trailers: HeaderMap): void {
    this.ended = true;
  }
  text(): string {
    return Buffer.concat(this.data).toString();
  }
}

function hcmConfig(partial: Partial<HttpConnectionManager> = {}): HttpConnectionManager {
  return {
    kind: 'http_connection_manager', statPrefix: 'in', codecType: 'AUTO', routeConfigName: 'rc', rds: false, httpFilters: [], accessLog: [],
    useRemoteAddress: false, xffNumTrustedHops: 0, skipXffAppend: false, generateRequestId: true, preserveExternalRequestId: false, alwaysSetRequestIdInResponse: false,
    serverName: 'envoy', serverHeaderTransformation: 'OVERWRITE', idleTimeoutMs: 0, streamIdleTimeoutMs: 0, requestTimeoutMs: 0,
    requestHeadersTimeoutMs: 0, maxStreamDurationMs: 0, maxConnectionDurationMs: 0, maxRequestsPerConnection: 0, drainTimeoutMs: 5000, delayedCloseTimeoutMs: 1000, upgradeConfigs: [], normalizePath: false, mergeSlashes: false, pathWithEscapedSlashesAction: 'KEEP_UNCHANGED',
    maxRequestHeadersKb: 60, maxHeadersCount: 100, headersWithUnderscoresAction: 'ALLOW', bufferLimitBytes: 1024 * 1024, forwardClientCertDetails: 'SANITIZE', setCurrentClientCertDetails: [],
    http2: { hpackTableSize: 4096, maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456, allowConnect: false },
    ...partial,
  };
}

function setup(config: Partial<HttpConnectionManager> = {}, peer = '127.0.0.1') {
  const harness = new RouterHarness();
  const table = new RouteTable(
    routeConfig([
      virtualHost('vh', ['example.com'], [
        route('direct', { kind: 'prefix', value: '/direct' }, { action: directResponse(200, 'hi') }),
        route('backend', { kind: 'prefix', value: '/' }, { action: routeAction({ cluster: { kind: 'cluster', name: 'backend' } }) }),
      ]),
    ]),
  );
  const hcm = new HttpConnectionManagerHandler(hcmConfig(config), {
    store: harness.store, clusters: harness.clusters, routeTable: () => table, meshRetries: false, log: () => {}, workers: 1, localCluster: '',
  });
  const ended: HttpStream[] = [];
  const connection: StreamConnection = {
    hcm,
    socket: { remoteAddress: peer, remotePort: 50000 } as never,
    remoteAddress: `${peer}:50000`,
    localAddress: '127.0.0.1:10000',
    onRequestComplete() {},
    onStreamEnd(stream) {
      ended.push(stream);
    },
    setStreamIdleTimeout() {},
    requestCount: 0,
    drain() {},
  };
  const open = (method: string, path: string, headers: HeaderMap, endStream: boolean) => {
    const encoder = new FakeEncoder();
    const stream = new HttpStream(connection, encoder);
    hcm.onNewStream(stream);
    const head: RequestHeaders = { method, path, scheme: 'http', protocol: 'HTTP/1.1', headers: { host: 'example.com', ...headers } };
    stream.decodeHeaders(head, endStream);
    return { stream, encoder };
  };
  const stat = (name: string) => harness.store.snapshot().counters[`http.in.${name}`] ?? 0;
  return { hcm, harness, open, ended, stat };
}

t.test('no route: 404 flagged NR, counted, and the stream ends', async (t) => {
  const { open, stat, ended } = setup();
  const { stream, encoder } = open('GET', '/', { host: 'other.com' }, true);
  t.equal(encoder.headers?.status, 404);
  t.ok(encoder.ended);
  t.ok(stream.info.hasResponseFlag('NR'));
  t.equal(stat('no_route'), 1);
  t.equal(stat('downstream_rq_4xx'), 1);
  t.equal(ended.length, 1);
});

t.test('a direct response carries the server and date headers', async (t) => {
  const { open } = setup();
  const { encoder } = open('GET', '/direct', {}, true);
  t.equal(encoder.headers?.status, 200);
  t.equal(encoder.text(), 'hi');
  t.equal(encoder.headers?.headers.server, 'envoy');
  t.match(String(encoder.headers?.headers.date), /GMT$/);
});

t.test('a filter that stops holds the body until it continues; the router gets it in order', async (t) => {
  const { hcm, open, harness } = setup();
  let held: HttpStream | null = null;
  const hold: HttpFilter<HttpStream> = {
    decodeHeaders(stream): FilterStatus {
      held = stream;
      return 'stop';
    },
  };
  (hcm.filters as HttpFilter<HttpStream>[]).unshift(hold);
  const { stream } = open('POST', '/up', { 'content-length': '6' }, false);
  stream.decodeData(Buffer.from('abc'), false);
  stream.decodeData(Buffer.from('def'), true);
  t.equal(harness.pending().length, 0, 'nothing upstream while the filter holds');
  held!.continueDecoding();
  const upstream = harness.ready(0);
  t.equal(upstream.bodyText(), 'abcdef');
  t.ok(upstream.ended);
});

t.test('past the buffer limit a held stream stops reading the client', async (t) => {
  const { hcm, open } = setup();
  (hcm.filters as HttpFilter<HttpStream>[]).unshift({ decodeHeaders: () => 'stop' });
  const { stream, encoder } = open('POST', '/up', {}, false);
  stream.decodeData(Buffer.alloc(hcm.bufferLimitBytes + 1), false);
  t.equal(encoder.readDisabled, 1);
});

t.test('Expect: 100-continue is answered by the connection manager and not forwarded', async (t) => {
  const { open, harness } = setup();
  const { encoder } = open('POST', '/up', { expect: '100-continue', 'content-length': '1' }, false);
  t.same(encoder.informational, [100]);
  t.equal(harness.pending().length, 1);
  const upstream = harness.ready(0);
  t.equal(upstream.head?.headers.expect, undefined);
});

t.test('a local answer before the request ended says Connection: close', async (t) => {
  const { open } = setup();
  const { encoder } = open('POST', '/direct', { 'content-length': '100' }, false);
  t.equal(encoder.headers?.status, 200);
  t.equal(encoder.headers?.headers.connection, 'close');
});

t.test('an upstream answer that starts before the request ended streams without closing', async (t) => {
  const { open, harness } = setup();
  const { stream, encoder } = open('POST', '/echo', { 'content-length': '6' }, false);
  const upstream = harness.ready(0);
  upstream.decoder.decodeHeaders({ status: 200, headers: { 'content-length': '6' } }, false);
  stream.decodeData(Buffer.from('abcdef'), true);
  upstream.decoder.decodeData(Buffer.from('abcdef'), true);
  t.equal(encoder.headers?.headers.connection, undefined);
  t.equal(upstream.bodyText(), 'abcdef');
  t.equal(encoder.text(), 'abcdef');
});

t.test('a client gone before the response: DC and downstream_rq_rx_reset', async (t) => {
  const { open, stat, harness } = setup();
  const { stream, encoder } = open('GET', '/slow', {}, true);
  encoder.callbacks!.onResetStream('connection-termination', '');
  t.ok(stream.info.hasResponseFlag('DC'));
  t.equal(stat('downstream_rq_rx_reset'), 1);
  t.ok(harness.pending()[0].cancelled, 'the upstream request is cancelled');
});

t.test('an edge request loses its x-envoy-* control headers', async (t) => {
  const { open, harness } = setup({ useRemoteAddress: true }, '203.0.113.9');
  const { stream } = open('GET', '/', { 'x-envoy-upstream-rq-timeout-ms': '1', 'x-envoy-retry-on': '5xx' }, true);
  t.equal(stream.trustedDownstream, false);
  const upstream = harness.ready(0);
  t.equal(upstream.head?.headers['x-envoy-retry-on'], undefined);
  t.equal(upstream.head?.headers['x-envoy-upstream-rq-timeout-ms'], undefined);
  t.equal(upstream.head?.headers['x-forwarded-for'], '203.0.113.9');
  t.equal(upstream.head?.headers['x-envoy-external-address'], '203.0.113.9');
});

t.test('an upgrade the route does not enable gets 403', async (t) => {
  const { open, stat } = setup();
  const { encoder } = open('GET', '/ws', { upgrade: 'websocket', connection: 'upgrade' }, false);
  t.equal(encoder.headers?.status, 403);
  t.equal(stat('downstream_rq_ws_on_non_ws_route'), 1);
});
