// io.istio.network.authn as older istiods sent it (issue #18), pushed over ADS from a real xDS
// server: on a waypoint's connect_terminate with `shared: true` it puts the TLS peer's and its own
// SPIFFE principals in the connection's filter state, passed once to the internal connection each
// CONNECT opens to main_internal, whose RBAC (filter_state io.istio.peer_principal), access log
// (%FILTER_STATE%) and istio.stats (source_principal, mutual_tls on a connection without TLS of
// its own) read them; with `shared: false` they stop at connect_terminate and main_internal's RBAC
// denies. On a sidecar's inbound TLS chain (unshared, istiod 1.18-1.19) the same connection's
// RBAC reads them.
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { HCM_TYPE, ROUTER_TYPE, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitFor, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { tunnelGet, tunnelStatus } from '../../support/hbone-client.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, adsBootstrap, answerTo, startManagementServer } from '../../support/xds-proxy.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster } from '../internal/fixtures.ts';
import { certFiles, downstreamTls } from '../tls/support.ts';

const T = 'type.googleapis.com/';
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const INTRUDER = 'spiffe://cluster.local/ns/other/sa/intruder';
const WAYPOINT = 'spiffe://cluster.local/ns/default/sa/waypoint';

const authn = (shared: boolean) => ({ name: 'istio_authn', typed_config: { '@type': `${T}udpa.type.v1.TypedStruct`, type_url: `${T}io.istio.network.authn.Config`, value: shared ? { shared: true } : {} } });
// istiod's RBAC for AuthorizationPolicy principals, on the filter state (1.18-1.19).
const rbacAllowSleep = {
  name: 'envoy.filters.http.rbac',
  typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC`, rules: { action: 'ALLOW', policies: { 'ns[default]-policy[sleep]': { permissions: [{ any: true }], principals: [{ filter_state: { key: 'io.istio.peer_principal', string_match: { exact: SLEEP } } }] } } } },
};
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };
const istioStats = { name: 'istio.stats', typed_config: { '@type': `${T}udpa.type.v1.TypedStruct`, type_url: `${T}stats.PluginConfig`, value: {} } };
const listener = (l: object) => ({ '@type': `${T}envoy.config.listener.v3.Listener`, ...l }) as never;
const cluster = (c: object) => ({ '@type': `${T}envoy.config.cluster.v3.Cluster`, ...c }) as never;

function serverTls(cert: LeafCert, caFile: string, alpn: string[]) {
  return downstreamTls({
    alpn_protocols: alpn,
    tls_certificates: [certFiles(cert)],
    validation_context: { trusted_ca: { filename: caFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }] },
  }, { require_client_certificate: true });
}

function listeners(shared: boolean, waypointCert: LeafCert, caFile: string, accessLog: string) {
  return [
    listener({
      name: 'connect_terminate',
      address: socketAddress('127.0.0.1', 0),
      filter_chains: [{
        transport_socket: serverTls(waypointCert, caFile, ['h2']),
        filters: [authn(shared), { name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: 'connect_terminate',
          route_config: routes([{ match: { connect_matcher: {} }, route: { cluster: 'main_internal', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }]),
          http_filters: [router],
          http2_protocol_options: { allow_connect: true },
          upgrade_configs: [{ upgrade_type: 'CONNECT' }],
        } }],
      }],
    }),
    listener({
      name: 'main_internal',
      internal_listener: {},
      traffic_direction: 'INBOUND',
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
        '@type': HCM_TYPE,
        stat_prefix: 'inbound_svc_a',
        route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'svc-a' } }]),
        http_filters: [rbacAllowSleep, istioStats, router],
        access_log: [{ name: 'envoy.access_loggers.file', typed_config: {
          '@type': `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`,
          path: accessLog,
          log_format: { text_format_source: { inline_string: '%REQ(:PATH)% %RESPONSE_CODE% %FILTER_STATE(io.istio.peer_principal:PLAIN)% %FILTER_STATE(io.istio.local_principal:PLAIN)%\n' } },
        } }],
      } }] }],
    }),
    // A sidecar's inbound chain of istiod 1.18-1.19: unshared, read on the same connection.
    listener({
      name: 'virtualInbound',
      address: socketAddress('127.0.0.1', 0),
      traffic_direction: 'INBOUND',
      filter_chains: [{
        transport_socket: serverTls(waypointCert, caFile, ['http/1.1']),
        filters: [authn(false), { name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: 'inbound_0.0.0.0_8080',
          route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'svc-a' } }]),
          http_filters: [rbacAllowSleep, router],
        } }],
      }],
    }),
  ];
}

/** The status the app's side answered to a GET through a CONNECT tunnel to svc-a. */
const tunnelGetStatus = async (port: number, ca: string, client: LeafCert, requestPath: string) =>
  tunnelStatus(await tunnelGet(port, ca, client, 'svc-a.default.svc.cluster.local:80', requestPath));

function httpsGet(port: number, ca: string, client: LeafCert): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/direct', ca, cert: client.cert, key: client.key, servername: 'waypoint', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
  });
}

t.test('io.istio.network.authn: the principals in the filter state, shared through connect_terminate or not', { skip: opensslMissing(), timeout: 30_000 }, async (t) => {
  const app = await startUpstreamFor(t, 'workload-a');
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const waypointCert = ca.issue('waypoint', [`URI:${WAYPOINT}`]);
  const sleep = ca.issue('sleep', [`URI:${SLEEP}`]);
  const intruder = ca.issue('intruder', [`URI:${INTRUDER}`]);
  const dir = mkdtempSync(path.join(tmpdir(), 'legate-authn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const accessLog = path.join(dir, 'main_internal.log');

  const xds = await startManagementServer(t);
  xds.setResources(CLUSTER_TYPE_URL, 'c1', [cluster(internalCluster('main_internal', 'main_internal')), cluster(staticCluster('svc-a', [{ port: app.port }]))]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', listeners(true, waypointCert, ca.certFile, accessLog));
  const legate = await startLegate({
    ...adsBootstrap(xds.port),
    bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION],
    node: { id: 'waypoint~127.0.0.1~waypoint-abc.default~default.svc.cluster.local', cluster: 'waypoint.default', metadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'waypoint' } },
    stats_config: { use_all_default_tags: false, stats_matcher: { inclusion_list: { patterns: [{ prefix: 'istio' }] } } },
  });
  t.teardown(() => legate.stop());
  t.equal((await answerTo(xds, LISTENER_TYPE_URL)).error_detail, undefined, 'listeners with io.istio.network.authn are ACKed');
  const port = (name: string) => waitFor(`${name} bound`, () => {
    try {
      return legate.port(name);
    } catch {
      return undefined;
    }
  });
  const terminate = await port('connect_terminate');

  t.equal(await tunnelGetStatus(terminate, ca.cert, sleep, '/a/1'), 200, "shared: main_internal's RBAC reads the sleep principal from connect_terminate's TLS");
  t.same((await waitForLines(accessLog, 1))[0].split(' '), ['/a/1', '200', SLEEP, WAYPOINT], 'the access log reads both shared principals');
  t.equal(await tunnelGetStatus(terminate, ca.cert, intruder, '/a/2'), 403, 'another principal is denied');
  const series = (await fetchText(legate.adminUrl('/stats/prometheus'))).body.split('\n').filter((l) => l.startsWith('istio_requests_total{') && l.includes('response_code="200"'));
  t.equal(series.length, 1);
  t.match(series[0], new RegExp(`source_principal="${SLEEP}".*destination_principal="${WAYPOINT}".*connection_security_policy="mutual_tls"`), 'istio.stats reports the shared principals on the internal connection');

  const inbound = await port('virtualInbound');
  t.equal(await httpsGet(inbound, ca.cert, sleep), 200, "unshared on a sidecar's inbound chain: its own RBAC reads the principal");
  t.equal(await httpsGet(inbound, ca.cert, intruder), 403);

  xds.setResources(LISTENER_TYPE_URL, 'l2', listeners(false, waypointCert, ca.certFile, accessLog));
  t.equal((await answerTo(xds, LISTENER_TYPE_URL)).error_detail, undefined);
  await waitFor('the unshared connect_terminate serving', async () => ((await tunnelGetStatus(terminate, ca.cert, sleep, '/a/3')) === 403 ? true : undefined), 5000, 50);
  const lines = await waitForLines(accessLog, 3);
  t.same(lines[lines.length - 1].split(' '), ['/a/3', '403', '-', '-'], 'not shared: main_internal sees no principal and RBAC denies');
});
