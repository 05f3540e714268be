// OpenTelemetry tracing end to end: OTLP over gRPC to a TraceService written here (on Legate's
// HTTP/2 pool to the collector cluster) and OTLP over HTTP; W3C traceparent in and out; a
// retried request as a SERVER span with a CLIENT child per attempt.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startScriptedUpstream } from '../../support/scripted-upstream.ts';
import { startGrpcOtlpCollector, startHttpOtlpCollector, type OtlpSpan } from './otlp-collector.ts';

const OTEL = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';
const H2 = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } };
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])$/;

t.test('OTLP over gRPC and HTTP, W3C trace context, a span per attempt', async (t) => {
  const grpcCollector = await startGrpcOtlpCollector();
  t.teardown(() => grpcCollector.close());
  const httpCollector = await startHttpOtlpCollector();
  t.teardown(() => httpCollector.close());
  const app = await startScriptedUpstream('app');
  t.teardown(() => app.close());

  const retryRoute = { match: { prefix: '/' }, route: { cluster: 'app', retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } } };
  // Istio's shape: envoy_grpc to the collector cluster with an authority, service_name.
  const g = httpListener('g', routes([retryRoute]), {
    tracing: {
      spawn_upstream_span: true,
      provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': OTEL, service_name: 'shop.default', grpc_service: { envoy_grpc: { cluster_name: 'otel-grpc', authority: 'otel-collector.istio-system.svc.cluster.local' }, initial_metadata: [{ key: 'x-tenant', value: 't1' }] } } },
    },
  });
  const h = httpListener('h', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {
    tracing: {
      provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': OTEL, http_service: { http_uri: { uri: 'http://otel-collector:4318/v1/traces', cluster: 'otel-http', timeout: '2s' }, request_headers_to_add: [{ header: { key: 'x-tenant', value: 't2' } }] } } },
    },
  });
  const legate = await startLegate(bootstrap([g, h], [
    staticCluster('app', [{ port: app.port }]),
    staticCluster('otel-grpc', [{ port: grpcCollector.port }], { typed_extension_protocol_options: H2 }),
    staticCluster('otel-http', [{ port: httpCollector.port }]),
  ]));
  t.teardown(() => legate.stop());

  // ---- gRPC: a retried root request, then one continuing a caller's sampled traceparent ----
  app.script([503, 200]);
  t.equal((await fetchText(legate.url('/retry', 'g'))).status, 200);
  const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpan = '00f067aa0ba902b7';
  await fetchText(legate.url('/continued', 'g'), { headers: { traceparent: `00-${callerTrace}-${callerSpan}-01`, tracestate: 'congo=t61rcWkgMzE' } });
  const seen = app.seen.map((r) => r.headers);
  const spans = await grpcCollector.waitForSpans(5);
  t.same(grpcCollector.requests.map((r) => [r.serviceName, r.scope]), [['shop.default', 'envoy']], 'one export: the resource names the service');
  t.equal(grpcCollector.requests[0].headers['x-tenant'], 't1', 'initial_metadata goes with the call');
  t.equal(grpcCollector.requests[0].headers.authority, 'otel-collector.istio-system.svc.cluster.local', 'envoy_grpc.authority is the :authority');
  const root = spans.find((s) => s.kind === 'SPAN_KIND_SERVER' && s.attributes['http.url']?.endsWith('/retry')) as OtlpSpan;
  t.match(root.traceId, /^[0-9a-f]{32}$/);
  t.equal(root.parentSpanId, '', 'a new trace: the root span');
  t.match(root.attributes, { 'http.method': 'GET', 'http.status_code': '200', upstream_cluster: 'app', component: 'proxy' });
  t.ok(root.endNanos > root.startNanos && root.startNanos > 1_600_000_000_000_000_000n, 'times in nanoseconds since the epoch');
  const attempts = spans.filter((s) => s.parentSpanId === root.spanId).sort((a, b) => Number(a.startNanos - b.startNanos));
  t.equal(attempts.length, 2, 'a CLIENT span per attempt');
  for (const [i, attempt] of attempts.entries()) {
    t.equal(attempt.kind, 'SPAN_KIND_CLIENT');
    t.equal(attempt.traceId, root.traceId);
    const m = TRACEPARENT.exec(String(seen[i].traceparent));
    t.ok(m, `attempt ${i + 1} carried a traceparent`);
    t.equal(m?.[1], root.traceId);
    t.equal(m?.[2], attempt.spanId, `attempt ${i + 1}'s own span id went upstream`);
    t.equal(m?.[3], '1');
  }
  t.equal(attempts[0].attributes['http.status_code'], '503');
  t.equal(attempts[0].attributes.error, 'true');

  const continued = spans.find((s) => s.kind === 'SPAN_KIND_SERVER' && s.traceId === callerTrace) as OtlpSpan;
  t.ok(continued, "the caller's trace goes on");
  t.equal(continued.parentSpanId, callerSpan);
  t.equal(continued.traceState, 'congo=t61rcWkgMzE');
  t.equal(seen[2].tracestate, 'congo=t61rcWkgMzE', 'tracestate travels upstream');

  // ---- HTTP: five requests, the request span's context goes upstream as it is ----
  const before = app.seen.length;
  for (let i = 0; i < 5; i++) await fetchText(legate.url(`/h${i}`, 'h'));
  const httpSpans = await httpCollector.waitForSpans(5);
  t.same(httpCollector.requests[0].headers, { 'content-type': 'application/x-protobuf', path: '/v1/traces', 'x-tenant': 't2' });
  t.equal(httpCollector.requests[0].serviceName, 'unknown_service:envoy', "Envoy's default service name");
  for (let i = 0; i < 5; i++) {
    const m = TRACEPARENT.exec(String(app.seen[before + i].headers.traceparent));
    const span = httpSpans.find((s) => s.spanId === m?.[2]);
    t.ok(span, `request ${i} continued its own span upstream`);
    t.equal(span?.kind, 'SPAN_KIND_SERVER');
  }
  const stats = await waitFor('http_reports_success', async () => {
    const s = await statsMap(legate.adminUrl(''));
    return (s.get('tracing.opentelemetry.http_reports_success') ?? 0) >= 1 ? s : undefined;
  });
  t.equal(stats.get('tracing.opentelemetry.spans_sent'), 10);
  t.equal(stats.get('tracing.opentelemetry.http_reports_sent'), 1);
});
