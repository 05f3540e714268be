// envoy.filters.http.health_check with real upstreams: answered locally outside pass-through mode
// (the upstream never sees it), passed through otherwise, the upstream's answer cached for
// cache_time (counted in upstream hits), cluster_min_healthy_percentages against EDS health status,
// the access log's not_health_check_filter, and Envoy's stats.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import http2 from 'node:http2';
import { setTimeout } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, fileAccessLog, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, nodeRequest, statsMap, waitFor, waitForLogLine } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream, type Upstream } from '../../support/upstream.ts';

const HEALTH_CHECK_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck';

function healthCheckFilters(config: object) {
  return [
    { name: 'envoy.filters.http.health_check', typed_config: { '@type': HEALTH_CHECK_TYPE, headers: [{ name: ':path', string_match: { exact: '/healthz' } }], ...config } },
    { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
  ];
}

function listener(name: string, config: object, hcmExtra: object = {}) {
  return httpListener(name, routes([{ match: { prefix: '/' }, route: { cluster: 'backend' } }]), { http_filters: healthCheckFilters(config), ...hcmExtra });
}

const hits = (upstream: Upstream, url: string) => upstream.seen.filter((r) => r.url === url).length;

t.test('outside pass-through mode health checks are answered here; the access log and the request stats leave them out', async (t) => {
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const dir = mkdtempSync(join(tmpdir(), 'legate-hc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'access.log');
  const log = { ...fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n'), filter: { not_health_check_filter: {} } };
  const legate = await startLegate(bootstrap([listener('hc', { pass_through_mode: false }, { access_log: [log] })], [staticCluster('backend', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());

  const hc = await fetchText(legate.url('/healthz'));
  t.equal(hc.status, 200);
  t.equal(hc.headers['x-envoy-upstream-healthchecked-cluster'], 'test', 'node.cluster');
  t.notOk(hc.headers['x-envoy-immediate-health-check-fail']);
  await fetchText(legate.url('/healthz?full=1'));
  t.equal(hits(upstream, '/healthz?full=1'), 1, 'a :path matcher sees the query too, as Envoy\'s: not a health check');
  const other = await fetchText(legate.url('/other'));
  t.equal(other.status, 200, 'other requests reach the upstream');
  t.notOk(other.headers['x-envoy-upstream-healthchecked-cluster']);
  t.equal(hits(upstream, '/healthz'), 0, 'the upstream never saw the health check');
  t.equal(hits(upstream, '/other'), 1);

  await waitForLogLine(logPath, '/other');
  t.notMatch(readFileSync(logPath, 'utf8'), /^\/healthz /m, 'not_health_check_filter leaves the health checks out of the log');

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.hc.health_check.request_total'), 1);
  t.equal(stats.get('http.hc.health_check.ok'), 1);
  t.equal(stats.get('http.hc.health_check.failed'), 0);
  t.equal(stats.get('http.hc.downstream_rq_total'), 3, 'every request is counted on arrival');
  t.equal(stats.get('http.hc.downstream_rq_completed'), 2, 'as Envoy, health checks are not among the completed requests');
  t.equal(stats.get('http.hc.downstream_rq_2xx'), 2);
});

t.test('pass-through mode: the upstream answers; cache_time reuses its answer', async (t) => {
  let status = 503;
  const upstream = await startUpstream('backend', (req, res) => {
    req.resume();
    res.writeHead(status, { 'content-length': '0', ...(req.url === '/healthz' && status === 200 ? { 'x-envoy-degraded': '' } : {}) });
    res.end();
  });
  t.teardown(() => upstream.close());
  const legate = await startLegate(bootstrap([
    listener('plain', { pass_through_mode: true }),
    listener('cached', { pass_through_mode: true, cache_time: '60s' }),
    listener('short', { pass_through_mode: true, cache_time: '0.2s' }),
  ], [staticCluster('backend', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());

  for (let i = 0; i < 3; i++) t.equal((await fetchText(legate.url('/healthz', 'plain'))).status, 503, 'the upstream\'s answer');
  t.equal(hits(upstream, '/healthz'), 3, 'without cache_time every health check reaches the upstream');

  upstream.seen.length = 0;
  const first = await fetchText(legate.url('/healthz', 'cached'));
  t.equal(first.status, 503);
  t.equal(first.headers['x-envoy-upstream-healthchecked-cluster'], 'test');
  status = 200; // the upstream changed its mind: the cache still says 503
  for (let i = 0; i < 5; i++) {
    const cached = await fetchText(legate.url('/healthz', 'cached'));
    t.equal(cached.status, 503, 'the cached answer');
    t.equal(cached.headers['x-envoy-upstream-healthchecked-cluster'], 'test');
  }
  t.equal(hits(upstream, '/healthz'), 1, 'one upstream hit within the cache time');
  t.equal((await fetchText(legate.url('/other', 'cached'))).status, 200, 'other requests are not cached');

  // A short cache_time expires: a later health check goes upstream again and its answer is cached.
  upstream.seen.length = 0;
  t.equal((await fetchText(legate.url('/healthz', 'short'))).status, 200);
  await waitFor('the cache to expire', async () => {
    await fetchText(legate.url('/healthz', 'short'));
    return hits(upstream, '/healthz') >= 2 ? true : undefined;
  });
  const degraded = await fetchText(legate.url('/healthz', 'short'));
  t.equal(degraded.status, 200);
  t.equal(degraded.headers['x-envoy-degraded'], '', 'the cached answer keeps x-envoy-degraded');

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.plain.health_check.request_total'), 0, 'passed-through checks are not answered here');
  t.equal(stats.get('http.cached.health_check.cached_response'), 5);
  t.equal(stats.get('http.cached.health_check.failed'), 5, 'a cached 503 is a failed health check');
  t.ok((stats.get('http.short.health_check.degraded') ?? 0) >= 1);
});

t.test('cluster_min_healthy_percentages: 503 when a cluster has too few healthy hosts, is empty or missing', async (t) => {
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const halfHealthy = staticCluster('backend', [{ port: upstream.port }, { port: upstream.port, address: '127.0.0.2' }]);
  (halfHealthy.load_assignment.endpoints[0].lb_endpoints[1] as Record<string, unknown>).health_status = 'UNHEALTHY';
  const legate = await startLegate(bootstrap([
    listener('fifty', { pass_through_mode: false, cluster_min_healthy_percentages: { backend: { value: 50 } } }),
    listener('sixty', { pass_through_mode: false, cluster_min_healthy_percentages: { backend: { value: 60.9 } } }),
    listener('empty', { pass_through_mode: false, cluster_min_healthy_percentages: { backend: { value: 10 }, nohosts: { value: 1 } } }),
    listener('emptyzero', { pass_through_mode: false, cluster_min_healthy_percentages: { nohosts: { value: 0 } } }),
    listener('missing', { pass_through_mode: false, cluster_min_healthy_percentages: { absent: { value: 0 } } }),
  ], [halfHealthy, staticCluster('nohosts', [])]));
  t.teardown(() => legate.stop());

  t.equal((await fetchText(legate.url('/healthz', 'fifty'))).status, 200, '1 of 2 hosts healthy is 50 %');
  t.equal((await fetchText(legate.url('/healthz', 'sixty'))).status, 503, '50 % < 60 %');
  t.equal((await fetchText(legate.url('/healthz', 'empty'))).status, 503, 'a cluster with no hosts fails');
  t.equal((await fetchText(legate.url('/healthz', 'emptyzero'))).status, 200, 'unless its percentage is 0');
  t.equal((await fetchText(legate.url('/healthz', 'missing'))).status, 503, 'a cluster that does not exist fails');
  t.equal(hits(upstream, '/healthz'), 0);

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.fifty.health_check.ok'), 1);
  t.equal(stats.get('http.sixty.health_check.failed_cluster_unhealthy'), 1);
  t.equal(stats.get('http.empty.health_check.failed_cluster_empty'), 1);
  t.equal(stats.get('http.missing.health_check.failed_cluster_not_found'), 1);
  t.equal(stats.get('http.sixty.health_check.failed'), 1);
});

t.test('the translator refuses cache_time outside pass-through mode, as Envoy', async (t) => {
  await t.rejects(startLegate(bootstrap([listener('l', { pass_through_mode: false, cache_time: '1s' })], [staticCluster('backend', [{ port: 1 }])])), /cache_time must not be set when pass_through_mode is false/);
  await t.rejects(startLegate(bootstrap([listener('l', {})], [staticCluster('backend', [{ port: 1 }])])), /pass_through_mode/, 'pass_through_mode is required');
});

t.test('pass-through mode while failing (one worker): 503 here, flag LH, the upstream untouched; drain_type MODIFY_ONLY keeps connections', async (t) => {
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const dir = mkdtempSync(join(tmpdir(), 'legate-hc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'access.log');
  const legate = await startLegate(bootstrap([
    listener('pt', { pass_through_mode: true }, { access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n')] }),
    { ...listener('modify', { pass_through_mode: true }), drain_type: 'MODIFY_ONLY' },
  ], [staticCluster('backend', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());

  t.equal((await fetchText(legate.adminUrl('/healthcheck/fail'), { method: 'POST' })).status, 200);
  const hc = await fetchText(legate.url('/healthz'));
  t.equal(hc.status, 503);
  t.equal(hc.headers['x-envoy-immediate-health-check-fail'], 'true');
  t.equal(hc.headers['x-envoy-upstream-healthchecked-cluster'], 'test');
  t.equal(hits(upstream, '/healthz'), 0, 'not passed through while failing');
  t.match(await waitForLogLine(logPath, '/healthz'), /^\/healthz 503 LH$/, 'Envoy\'s failed local health check flag');
  t.equal((await statsMap(legate.adminUrl(''))).get('http.pt.health_check.failed'), 1);
  // Keep-alive requests: whether the connection closes is Legate's choice.
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const drained = await nodeRequest(legate.url('/other', 'pt'), { agent });
  t.equal(drained.headers['x-envoy-immediate-health-check-fail'], 'true');
  t.equal(drained.headers.connection, 'close', 'a DEFAULT listener drain-closes while failing');
  const kept = await nodeRequest(legate.url('/other', 'modify'), { agent });
  t.equal(kept.status, 200);
  t.equal(kept.headers['x-envoy-immediate-health-check-fail'], 'true');
  t.not(kept.headers.connection, 'close', 'a MODIFY_ONLY listener keeps its connections');
  t.equal((await nodeRequest(legate.url('/healthz', 'modify'), { agent })).status, 503, 'but its health checks fail too');

  t.equal((await fetchText(legate.adminUrl('/healthcheck/ok'), { method: 'POST' })).status, 200);
  const passed = await fetchText(legate.url('/healthz'));
  t.equal(passed.status, 200);
  t.notOk(passed.headers['x-envoy-immediate-health-check-fail']);
  t.equal(hits(upstream, '/healthz'), 1, 'passed through again');
});

t.test('a health check needs no route: the filters run before the router answers 404 NR, as Envoy', async (t) => {
  const legate = await startLegate(bootstrap([httpListener('noroute', routes([{ match: { prefix: '/api' }, direct_response: { status: 204 } }]), { http_filters: healthCheckFilters({ pass_through_mode: false }) })], []));
  t.teardown(() => legate.stop());
  t.equal((await fetchText(legate.url('/healthz'))).status, 200, 'answered by the filter');
  t.equal((await fetchText(legate.url('/other'))).status, 404, 'the router: no route');
  t.equal((await fetchText(legate.url('/api'))).status, 204);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.noroute.no_route'), 1);
  t.equal(stats.get('http.noroute.rq_total'), 2, 'the router saw the other two');
});

t.test('a traced connection manager: health checks are unsampled and counted in tracing.health_check', async (t) => {
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const zipkin = { name: 'envoy.tracers.zipkin', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig', collector_cluster: 'backend', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON' } };
  const legate = await startLegate(bootstrap([listener('traced', { pass_through_mode: true }, { tracing: { random_sampling: { value: 100 }, provider: zipkin } })], [staticCluster('backend', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());
  await fetchText(legate.url('/healthz'));
  await fetchText(legate.url('/other'));
  const sampled = (url: string) => upstream.seen.find((r) => r.url === url)?.headers['x-b3-sampled'];
  t.equal(sampled('/healthz'), '0', 'the next hop is told the health check is not traced');
  t.equal(sampled('/other'), '1');
  t.equal((await statsMap(legate.adminUrl(''))).get('http.traced.tracing.health_check'), 1);
});

t.test('HTTP/2 while failing: the stream is answered, then GOAWAY', async (t) => {
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const legate = await startLegate(bootstrap([listener('h2', { pass_through_mode: false })], [staticCluster('backend', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());
  await fetchText(legate.adminUrl('/healthcheck/fail'), { method: 'POST' });
  const session = http2.connect(`http://127.0.0.1:${legate.port()}`);
  t.teardown(() => session.destroy());
  session.on('error', () => {});
  const goaway = once(session, 'goaway');
  const answer = async (path: string) => {
    const stream = session.request({ ':path': path });
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    stream.resume();
    await once(stream, 'end');
    return headers;
  };
  const headers = await answer('/other');
  t.equal(headers[':status'], 200, 'the request in flight is served');
  t.equal(headers['x-envoy-immediate-health-check-fail'], 'true');
  const deadline = setTimeout(5000, false, { ref: false });
  t.ok(await Promise.race([goaway.then(() => true), deadline]), 'then the connection is told to go away');
});
