// Zipkin tracing end to end: Legate posts v2 JSON spans to a collector written here, through its
// own cluster. A retried request shows as one SERVER span with a CLIENT child per attempt, and the
// upstream sees each attempt's context in its x-b3-* headers; sampling follows Envoy's rules
// (random, client and forced), B3 single headers are read, trace ids are 128-bit when asked.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startScriptedUpstream } from '../../support/scripted-upstream.ts';
import { startZipkinCollector, type ReceivedSpan } from './zipkin-collector.ts';

const ZIPKIN = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
// Istio's bootstrap tracer, word for word.
const ISTIO_REQUEST_ID = { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig', use_request_id_for_trace_sampling: true } };
const istioZipkin = { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN, collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON', trace_id_128bit: true, shared_span_context: false } };

t.test('zipkin spans across a retry, B3 propagation and sampling', async (t) => {
  const collector = await startZipkinCollector();
  t.teardown(() => collector.close());
  const app = await startScriptedUpstream('app');
  t.teardown(() => app.close());

  const retryRoute = { match: { prefix: '/' }, decorator: { operation: 'app-op' }, route: { cluster: 'app', retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: { base_interval: '0.001s' } } } };
  // A: the bootstrap's tracer (128-bit ids, no shared context), a span per upstream attempt.
  const a = httpListener('a', routes([retryRoute]), { request_id_extension: ISTIO_REQUEST_ID, tracing: { spawn_upstream_span: true, custom_tags: [{ tag: 'team', literal: { value: 'blue' } }, { tag: 'who', request_header: { name: 'x-who', default_value: 'nobody' } }] } });
  // B: its own tracer (64-bit ids), nothing randomly sampled; loopback clients are internal, so
  // x-envoy-force-trace is honoured.
  const b = httpListener('b', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {
    use_remote_address: true,
    internal_address_config: { cidr_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] },
    tracing: {
      random_sampling: { value: 0 },
      client_sampling: { value: 100 },
      provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN, collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans' } },
    },
  });
  const legate = await startLegate(
    bootstrap([a, b], [staticCluster('app', [{ port: app.port }]), staticCluster('zipkin', [{ port: collector.upstream.port }])], {
      node: { id: 'node-1', cluster: 'legate-test' },
      tracing: { http: istioZipkin },
    }),
  );
  t.teardown(() => legate.stop());

  // ---- A: a retried request (503, then 200) and a request carrying a B3 single header ----
  app.script([503, 200]);
  const retried = await fetchText(legate.url('/retry', 'a'), { headers: { 'x-who': 'alice' } });
  t.equal(retried.status, 200);
  t.equal(app.seen.length, 2, 'two attempts reached the app');
  const attemptHeaders = app.seen.map((r) => r.headers);
  const incomingTrace = '463ac35c9f6413ad48485a3953bb6124';
  const incomingSpan = 'a2fb4a1d1a96d312';
  const single = await fetchText(legate.url('/single', 'a'), { headers: { b3: `${incomingTrace}-${incomingSpan}-1` } });
  t.equal(single.status, 200);
  const singleHeaders = app.seen[2].headers;

  const spansA = await collector.waitForSpans(5);
  t.equal(collector.posts[0].path, '/api/v2/spans');
  t.equal(collector.posts[0].contentType, 'application/json');
  t.equal(collector.upstream.seen[0].headers.host, 'zipkin', 'no collector_hostname: the cluster name is the Host');
  const servers = spansA.filter((s) => s.kind === 'SERVER');
  t.equal(servers.length, 2, 'one SERVER span per downstream request');
  const retryServer = servers.find((s) => s.tags['http.url']?.endsWith('/retry')) as ReceivedSpan;
  t.match(retryServer.traceId, /^[0-9a-f]{32}$/, 'trace_id_128bit: a 128-bit trace id');
  t.notOk(retryServer.parentId, 'a new trace: the request span is the root');
  t.equal(retryServer.name, 'app-op', "the route decorator's operation names the span");
  t.equal(retryServer.localEndpoint.serviceName, 'legate-test');
  t.match(retryServer.tags, { 'http.method': 'GET', 'http.status_code': '200', component: 'proxy', upstream_cluster: 'app', node_id: 'node-1', response_flags: '-', team: 'blue', who: 'alice', 'http.protocol': 'HTTP/1.1', 'peer.address': '127.0.0.1', user_agent: '-' });
  t.equal(retryServer.tags['guid:x-request-id'], attemptHeaders[1]['x-request-id']);
  const children = spansA.filter((s) => s.kind === 'CLIENT' && s.traceId === retryServer.traceId).sort((x, y) => x.timestamp - y.timestamp);
  t.equal(children.length, 2, 'one CLIENT span per attempt, in the same trace');
  for (const [i, child] of children.entries()) {
    t.equal(child.parentId, retryServer.id, `attempt ${i + 1} is a child of the request's span`);
    t.equal(child.name, 'router app egress');
    t.equal(attemptHeaders[i]['x-b3-spanid'], child.id, `attempt ${i + 1} carried its own span id upstream`);
    t.equal(attemptHeaders[i]['x-b3-traceid'], retryServer.traceId);
    t.equal(attemptHeaders[i]['x-b3-parentspanid'], retryServer.id);
    t.equal(attemptHeaders[i]['x-b3-sampled'], '1');
    t.equal(child.tags['upstream_address'], app.address);
  }
  t.equal(children[0].tags['http.status_code'], '503');
  t.equal(children[0].tags.error, 'true', 'the failed attempt is an error');
  t.equal(children[1].tags['http.status_code'], '200');
  t.notOk(children[1].tags.error);
  t.notOk(retryServer.tags.error);

  // The B3 single header: the trace goes on, the request's span is a child of the caller's.
  const singleServer = servers.find((s) => s.tags['http.url']?.endsWith('/single')) as ReceivedSpan;
  t.equal(singleServer.traceId, incomingTrace);
  t.equal(singleServer.parentId, incomingSpan, 'shared_span_context false: a new span under the caller');
  t.not(singleServer.id, incomingSpan);
  t.equal(singleServer.name, 'app-op');
  const singleChild = spansA.find((s) => s.parentId === singleServer.id) as ReceivedSpan;
  t.equal(singleHeaders['x-b3-traceid'], incomingTrace);
  t.equal(singleHeaders['x-b3-spanid'], singleChild.id);

  // ---- B: random sampling 0 ----
  const ids: string[] = [];
  const before = app.seen.length;
  const plainReply = await fetchText(legate.url('/plain', 'b'));
  t.equal(plainReply.status, 200);
  t.equal(plainReply.headers['x-request-id'], undefined, 'the request id goes back only to a forced trace');
  const plain = app.seen[before].headers;
  t.equal(String(plain['x-request-id'])[14], '4', 'x-request-id says: not traced');
  t.equal(plain['x-b3-sampled'], '0', 'an unsampled context still goes upstream');
  t.match(plain['x-b3-traceid'], /^[0-9a-f]{16}$/, 'a 64-bit trace id on this tracer');
  await fetchText(legate.url('/client', 'b'), { headers: { 'x-client-trace-id': 'client-1' } });
  const client = app.seen[before + 1].headers;
  t.equal(String(client['x-request-id'])[14], 'b', 'client sampling: x-request-id says client');
  t.equal(client['x-b3-sampled'], '1');
  ids.push(String(client['x-request-id']));
  for (let i = 0; i < 3; i++) {
    const reply = await fetchText(legate.url(`/forced-${i}`, 'b'), { headers: { 'x-envoy-force-trace': 'true' } });
    const forced = app.seen[before + 2 + i].headers;
    t.equal(String(forced['x-request-id'])[14], 'a', 'forced: x-request-id says forced');
    t.equal(reply.headers['x-request-id'], forced['x-request-id'], 'a forced trace gets its request id back');
    ids.push(String(forced['x-request-id']));
  }
  // Not sampled by Legate's decision, but the caller's B3 sampling flag wins (Envoy's Zipkin tracer).
  await fetchText(legate.url('/b3-sampled', 'b'), { headers: { b3: '0af7651916cd43dd-b7ad6b7169203331-1' } });
  const callerSampled = app.seen[before + 5].headers;
  t.equal(String(callerSampled['x-request-id'])[14], '4');
  t.equal(callerSampled['x-b3-sampled'], '1');
  t.equal(callerSampled['x-b3-traceid'], '0af7651916cd43dd', 'a 64-bit trace id goes on as it came');
  ids.push(String(callerSampled['x-request-id']));
  // Five traced requests fill a batch: had the unsampled one been reported it would be in it.
  const spansB = (await collector.waitForSpans(10)).slice(5);
  t.same(spansB.map((s) => s.tags['guid:x-request-id']).sort(), [...ids].sort(), 'exactly the client, forced and caller-sampled requests were traced');
  const b3Span = spansB.find((s) => s.traceId === '0af7651916cd43dd') as ReceivedSpan;
  t.equal(b3Span.id, 'b7ad6b7169203331', 'shared_span_context (default true): the server half of the caller\'s span');
  t.equal(b3Span.shared, true);
  const clientSpan = spansB.find((s) => s.tags['guid:x-client-trace-id'] === 'client-1') as ReceivedSpan;
  t.ok(clientSpan, 'the client trace id is a tag');
  t.equal(client['x-b3-spanid'], clientSpan.id, 'without spawn_upstream_span the upstream continues the request span');
  t.match(clientSpan.traceId, /^[0-9a-f]{16}$/);
  t.equal(clientSpan.name, `127.0.0.1:${legate.port('b')}`, 'no decorator: the span is named after the host');

  const stats = await waitFor('reports_sent', async () => {
    const s = await statsMap(legate.adminUrl(''));
    return (s.get('tracing.zipkin.reports_sent') ?? 0) >= 2 ? s : undefined;
  });
  t.equal(stats.get('tracing.zipkin.spans_sent'), 10);
  t.equal(stats.get('http.b.tracing.not_traceable'), 2);
  t.equal(stats.get('http.b.tracing.client_enabled'), 1);
  t.equal(stats.get('http.b.tracing.service_forced'), 3);
  t.equal(stats.get('http.a.tracing.random_sampling'), 2);
});

t.test("a stopping Legate sends the spans its reporter still holds; a per-try timeout is UT on its attempt; Istio's dry-run tags read the rbac filter's shadow verdict", async (t) => {
  const collector = await startZipkinCollector();
  t.teardown(() => collector.close());
  const app = await startScriptedUpstream('app');
  t.teardown(() => app.close());
  const route = { match: { prefix: '/' }, route: { cluster: 'app', retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.2s', retry_back_off: { base_interval: '0.001s' } } } };
  // Istio's dry-run tags: the rbac filter's shadow verdict, read from the request's dynamic metadata.
  const dryRun = (tag: string, key: string) => ({ tag, metadata: { kind: { request: {} }, metadata_key: { key: 'envoy.filters.http.rbac', path: [{ key }] } } });
  const rbac = {
    name: 'envoy.filters.http.rbac',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
      shadow_rules: { action: 'DENY', policies: { 'ns[default]-policy[dry]-rule[0]': { permissions: [{ any: true }], principals: [{ any: true }] } } },
      shadow_rules_stat_prefix: 'istio_dry_run_allow_',
    },
  };
  const router = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
  const listener = httpListener('a', routes([route]), {
    http_filters: [rbac, router],
    tracing: {
      provider: istioZipkin,
      spawn_upstream_span: true,
      custom_tags: [dryRun('istio.authorization.dry_run.allow_policy.name', 'istio_dry_run_allow_shadow_effective_policy_id'), dryRun('istio.authorization.dry_run.allow_policy.result', 'istio_dry_run_allow_shadow_engine_result')],
    },
  });
  const legate = await startLegate(bootstrap([listener], [staticCluster('app', [{ port: app.port }]), staticCluster('zipkin', [{ port: collector.upstream.port }])]));
  app.script(['hang', 200]);
  t.equal((await fetchText(legate.url('/last'))).status, 200);
  t.equal(collector.spans.length, 0, 'three spans wait for a batch of five');
  await legate.stop();
  const spans = await collector.waitForSpans(3, 3000);
  const server = spans.find((s) => s.kind === 'SERVER') as ReceivedSpan;
  t.equal(server.tags['http.url']?.endsWith('/last'), true);
  t.equal(server.tags['istio.authorization.dry_run.allow_policy.name'], 'ns[default]-policy[dry]-rule[0]');
  t.equal(server.tags['istio.authorization.dry_run.allow_policy.result'], 'denied');
  const [timedOut, answered] = spans.filter((s) => s.parentId === server.id).sort((x, y) => x.timestamp - y.timestamp);
  t.match(timedOut.tags, { response_flags: 'UT', 'http.status_code': '0', error: 'true' });
  t.match(answered.tags, { response_flags: '-', 'http.status_code': '200' });
});
