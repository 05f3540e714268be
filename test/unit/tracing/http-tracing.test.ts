import t from 'tap';
import { StreamInfo } from '../../../proxy/access-log/index.ts';
import type { HcmTracing, Route } from '../../../proxy/config/model.ts';
import { Store } from '../../../proxy/stats/index.ts';
import { HttpTracing } from '../../../proxy/tracing/index.ts';
import type { ZipkinSpan } from '../../../proxy/tracing/zipkin-span.ts';
import type { ClusterManager } from '../../../proxy/upstream/index.ts';

const provider = { kind: 'zipkin' as const, collectorCluster: 'none', collectorEndpoint: '/', collectorHostname: 'none', traceId128bit: false, sharedSpanContext: true, splitSpansForRequest: false };
const noClusters = { get: () => undefined } as unknown as ClusterManager;

function tracing(config: Partial<HcmTracing> = {}, metadata: Record<string, string> = {}): { tracing: HttpTracing; store: Store } {
  const store = new Store();
  const hcm: HcmTracing = { clientSamplingPercent: 100, randomSamplingPercent: 100, overallSamplingPercent: 100, maxPathTagLength: 256, customTags: [], spawnUpstreamSpan: false, operationName: 'ingress', packTraceReason: true, useRequestIdForTraceSampling: true, provider, ...config };
  return { tracing: HttpTracing.create(hcm, 'p', {
    clusters: noClusters, store, localCluster: 'svc', nodeId: 'n', zone: 'z',
    requestMetadata: (_request, filter, key) => metadata[`${filter}/${key}`],
  })!, store };
}

function request(headers: Record<string, string>, path = '/a'): StreamInfo {
  const info = new StreamInfo();
  info.authority = 'shop.example.com';
  info.path = path;
  info.method = 'POST';
  info.scheme = 'http';
  info.requestHeaders = headers;
  info.downstreamDirectRemoteAddress = '10.1.2.3:5555';
  return info;
}

const ID = '0000000a-1b2c-4d5e-8f90-123456789abc';
const route = (extra: Partial<Route>): Route => ({ name: 'r', match: { path: { kind: 'prefix', value: '/' } }, action: { kind: 'direct_response', status: 200 }, mutations: {}, typedPerFilterConfig: {}, ...extra }) as unknown as Route;

t.test('tags of a gRPC request and its answer', async (t) => {
  const { tracing: tr } = tracing();
  const headers = { 'x-request-id': ID, 'content-type': 'application/grpc', 'grpc-timeout': '2S' };
  const info = request(headers, '/pkg.Svc/Call');
  const span = tr.startRequest(headers, info, undefined) as ZipkinSpan;
  info.responseCode = 200;
  info.responseTrailers = { 'grpc-status': '14', 'grpc-message': 'no backend' };
  tr.finishRequest(span, info, undefined, {});
  t.match(span.toJSON().tags, {
    'grpc.path': '/pkg.Svc/Call', 'grpc.authority': 'shop.example.com', 'grpc.content_type': 'application/grpc', 'grpc.timeout': '2S',
    'grpc.status_code': '14', 'grpc.message': 'no backend', error: 'true', 'http.status_code': '200', 'peer.address': '10.1.2.3', node_id: 'n',
  });
  t.equal(span.toJSON().name, 'shop.example.com', 'named after the host');
});

t.test("a route's tracing: its sampling replaces the connection manager's, its tags win by name", async (t) => {
  const { tracing: tr, store } = tracing({
    randomSamplingPercent: 0,
    customTags: [{ tag: 'team', kind: 'literal', value: 'hcm' }, { tag: 'env', kind: 'literal', value: 'prod' }],
  });
  const r = route({ tracing: { clientSamplingPercent: 100, randomSamplingPercent: 100, overallSamplingPercent: 100, customTags: [{ tag: 'team', kind: 'literal', value: 'route' }] } });
  const headers = { 'x-request-id': ID };
  const info = request(headers);
  const span = tr.startRequest(headers, info, r) as ZipkinSpan;
  t.equal(span.sampled, true);
  tr.finishRequest(span, info, r, {});
  t.match(span.toJSON().tags, { team: 'route', env: 'prod' });
  const plain = tr.startRequest({ 'x-request-id': ID }, request({}), undefined);
  t.equal(plain?.sampled, false, "without the route: the connection manager's 0 %");
  t.equal(store.counter('http.p.tracing.random_sampling').value, 1);
  t.equal(store.counter('http.p.tracing.not_traceable').value, 1);
});

t.test('decorators: ingress takes the header and answers with its own, egress sends it on', async (t) => {
  const decorated = route({ decorator: { operation: 'checkout', propagate: true } });
  const { tracing: ingress } = tracing();
  const headers: Record<string, string> = { 'x-request-id': ID, 'x-envoy-decorator-operation': 'from-egress' };
  const span = ingress.startRequest(headers, request(headers), decorated) as ZipkinSpan;
  t.equal(span.toJSON().name, 'from-egress', "the egress hop's operation wins on ingress");
  t.equal(headers['x-envoy-decorator-operation'], undefined, 'and is not passed on');
  const response: Record<string, string> = {};
  ingress.onResponseHeaders(span, response, decorated);
  t.equal(response['x-envoy-decorator-operation'], undefined, 'the caller named it: no name goes back');
  const own: Record<string, string> = { 'x-request-id': ID };
  const ownSpan = ingress.startRequest(own, request(own), decorated) as ZipkinSpan;
  t.equal(ownSpan.toJSON().name, 'checkout');
  const ownResponse: Record<string, string> = {};
  ingress.onResponseHeaders(ownSpan, ownResponse, decorated);
  t.equal(ownResponse['x-envoy-decorator-operation'], 'checkout', "the route's operation goes back to the caller");

  const { tracing: egress } = tracing({ operationName: 'egress' });
  const out: Record<string, string> = { 'x-request-id': ID };
  const egressSpan = egress.startRequest(out, request(out), decorated) as ZipkinSpan;
  t.equal(out['x-envoy-decorator-operation'], 'checkout');
  t.equal(egressSpan.toJSON().kind, 'CLIENT', 'an egress request span is CLIENT without upstream spans');
  egress.onResponseHeaders(egressSpan, { 'x-envoy-decorator-operation': 'served-as' }, decorated);
  t.equal(egressSpan.toJSON().name, 'served-as');
});

t.test('http.url is cut at max_path_tag_length', async (t) => {
  const { tracing: tr } = tracing({ maxPathTagLength: 4 });
  const headers = { 'x-request-id': ID };
  const info = request(headers, '/abcdefgh');
  const span = tr.startRequest(headers, info, undefined) as ZipkinSpan;
  tr.finishRequest(span, info, undefined, {});
  t.equal(span.toJSON().tags['http.url'], 'http://shop.example.com/abc');
});

t.test("request metadata custom tags read the request's dynamic metadata (Istio's dry-run tags)", async (t) => {
  const { tracing: tr } = tracing({
    customTags: [
      { tag: 'istio.authorization.dry_run.deny_policy.name', kind: 'request_metadata', filter: 'envoy.filters.http.rbac', key: 'istio_dry_run_deny_shadow_effective_policy_id', defaultValue: '' },
      { tag: 'absent', kind: 'request_metadata', filter: 'envoy.filters.http.rbac', key: 'nothing', defaultValue: 'none' },
      { tag: 'unset', kind: 'request_metadata', filter: 'x', key: 'y', defaultValue: '' },
    ],
  }, { 'envoy.filters.http.rbac/istio_dry_run_deny_shadow_effective_policy_id': 'ns[default]-policy[deny-all]-rule[0]' });
  const headers = { 'x-request-id': ID };
  const info = request(headers);
  const span = tr.startRequest(headers, info, undefined) as ZipkinSpan;
  tr.finishRequest(span, info, undefined, {});
  const tags = span.toJSON().tags;
  t.equal(tags['istio.authorization.dry_run.deny_policy.name'], 'ns[default]-policy[deny-all]-rule[0]');
  t.equal(tags.absent, 'none', 'the default when the key is not there');
  t.notOk('unset' in tags, 'no value and no default: no tag');
});
