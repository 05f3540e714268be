// Internal listeners: a public listener's route reaches a cluster whose endpoint is an
// envoy_internal_address; the connection goes in-process to the internal listener of that name,
// whose own filter chain (an HTTP connection manager, or tcp_proxy) reaches a real upstream.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FILE_LOG_TYPE, bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalHttpListener, internalTcpListener } from './fixtures.ts';
import { fetchText, nodeRequest, statsMap, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';

t.test('HTTP/1 through an internal listener (HCM and tcp_proxy), its stats, and a missing one', async (t) => {
  const upstream = await startUpstreamFor(t, 'app');
  const dir = mkdtempSync(join(tmpdir(), 'legate-internal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'access.log');
  const innerLog = join(dir, 'inner.log');
  const tcpLog = join(dir, 'tcp.log');
  const innerHcm = internalHttpListener('inner_hcm', 'app', {
    use_remote_address: true,
    access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG_TYPE, path: innerLog, log_format: { text_format_source: { inline_string: '%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%\n' } } } }],
  });
  const publicListener = httpListener('public', routes([
    { match: { prefix: '/hcm' }, route: { cluster: 'to_inner_hcm' } },
    { match: { prefix: '/tcp' }, route: { cluster: 'to_inner_tcp' } },
    { match: { prefix: '/missing' }, route: { cluster: 'to_nowhere' } },
  ]), { access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG_TYPE, path: log, log_format: { text_format_source: { inline_string: '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_HOST%\n' } } } }] });
  const legate = await startLegate(bootstrap(
    [publicListener, innerHcm, internalTcpListener('inner_tcp', 'app', { access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG_TYPE, path: tcpLog, log_format: { text_format_source: { inline_string: '%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%\n' } } } }] })],
    [internalCluster('to_inner_hcm', 'inner_hcm'), internalCluster('to_inner_tcp', 'inner_tcp', { max_requests_per_connection: 1 }), internalCluster('to_nowhere', 'absent'), staticCluster('app', [{ port: upstream.port }])],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());

  const viaHcm = await nodeRequest(legate.url('/hcm/a', 'public'));
  t.equal(viaHcm.status, 200, 'through the internal listener\'s connection manager to the upstream');
  t.same(JSON.parse(viaHcm.body), { upstream: 'app', path: '/hcm/a' }, 'the upstream answered');
  const viaTcp = await nodeRequest(legate.url('/tcp/b', 'public'));
  t.equal(viaTcp.status, 200, 'through the internal listener\'s tcp_proxy');
  t.same(JSON.parse(viaTcp.body), { upstream: 'app', path: '/tcp/b' });
  t.same(upstream.seen.map((r) => r.url), ['/hcm/a', '/tcp/b']);
  // The internal connection manager adds its own hop: it saw a request from the outer one.
  t.equal(upstream.seen[0].headers['x-forwarded-proto'], 'http');
  // The inner connection manager has use_remote_address, but its peer is no IP: it appends
  // nothing to x-forwarded-for (Envoy appends IP addresses only).
  t.equal(upstream.seen[0].headers['x-forwarded-for'], undefined, 'no envoy:// address in x-forwarded-for');
  t.same(await waitForLines(innerLog, 1), ['envoy://internal_client_address/ envoy://inner_hcm/'], "the internal connection's addresses, as Envoy names them");

  const missing = await nodeRequest(legate.url('/missing', 'public'));
  t.equal(missing.status, 503, 'no internal listener of that name: a connect failure');
  const lines = await waitForLines(log, 3);
  t.match(lines[0], /^\/hcm\/a 200 - envoy:\/\/inner_hcm\/$/, 'the upstream host is the internal address');
  t.match(lines[2], /^\/missing 503 UF envoy:\/\/absent\/$/, 'UF, as Envoy');

  // One request per connection to inner_tcp: its tcp_proxy logged the connection at close.
  t.same(await waitForLines(tcpLog, 1), ['envoy://internal_client_address/ envoy://inner_tcp/'], "tcp_proxy's access log names the internal addresses");
  const listeners = await fetchText(legate.adminUrl('/listeners'));
  t.match(listeners.body, /^inner_hcm::envoy:\/\/inner_hcm\/$/m, '/listeners names an internal listener by its envoy:// address');
  const listenersJson = JSON.parse((await fetchText(legate.adminUrl('/listeners?format=json'))).body) as { listener_statuses: { name: string; local_address: unknown }[] };
  t.same(listenersJson.listener_statuses.find((l) => l.name === 'inner_tcp')?.local_address, { envoy_internal_address: { server_listener_name: 'inner_tcp' } });

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('listener.envoy_internal_inner_hcm.downstream_cx_total'), 1, 'the internal listener counts its connections under listener.envoy_internal_<name>.');
  t.equal(stats.get('listener.envoy_internal_inner_tcp.downstream_cx_total'), 1);
  t.equal(stats.get('http.inner_hcm.downstream_rq_completed'), 1, 'its connection manager served the request');
  t.equal(stats.get('tcp.inner_tcp.downstream_cx_total'), 1, 'its tcp_proxy relayed the connection');
  t.equal(stats.get('cluster.to_nowhere.upstream_cx_connect_fail'), 1);
  t.equal(stats.get('cluster.to_inner_hcm.upstream_cx_total'), 1, 'the keep-alive connection to the internal listener is pooled');
});

t.test('an HTTP/2 cluster to an internal listener (codec AUTO)', async (t) => {
  const app = await startUpstreamFor(t, 'app');
  const h2 = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } };
  const legate = await startLegate(bootstrap(
    [httpListener('public', routes([{ match: { prefix: '/' }, route: { cluster: 'to_inner' } }])), internalHttpListener('inner', 'app', { codec_type: 'AUTO' })],
    [internalCluster('to_inner', 'inner', { typed_extension_protocol_options: h2 }), staticCluster('app', [{ port: app.port }])],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());
  for (const path of ['/h2/1', '/h2/2']) {
    const reply = await nodeRequest(legate.url(path, 'public'));
    t.equal(reply.status, 200);
    // node:http2 over a JS stream emits DATA before the response headers; the codec holds it.
    t.same(JSON.parse(reply.body), { upstream: 'app', path }, 'the head, then the body');
  }
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.to_inner.upstream_cx_http2_total'), 1, 'one HTTP/2 connection to the internal listener, both requests on it');
  t.equal(stats.get('http.inner.downstream_cx_http2_total'), 1, 'the internal connection manager spoke HTTP/2');
});
