// Istio's TCP filters between two Legate sidecars: the client's cluster carries istio.metadata_exchange
// (Cluster.filters) and offers the istio-peer-exchange ALPN protocol; the server's TCP chain has
// istio.metadata_exchange and istio.stats before tcp_proxy. Each side writes its exchange header
// and strips the other's, so the apps see only their own bytes, and each side's Prometheus output
// has istio_tcp_* with the peer's workload.
import net from 'node:net';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster, TCP_PROXY_TYPE } from '../../support/bootstrap.ts';
import { fetchText, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { certFiles, downstreamTls, upstreamTls } from '../tls/support.ts';
import { series } from '../../support/prometheus.ts';

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const skip = opensslMissing();
const typed = (typeUrl: string, value: object) => ({ '@type': TYPED_STRUCT, type_url: `type.googleapis.com/${typeUrl}`, value });
const exchange = { name: 'istio.metadata_exchange', typed_config: typed('envoy.tcp.metadataexchange.config.MetadataExchange', { protocol: 'istio-peer-exchange', enable_discovery: true }) };
const istioStats = { name: 'istio.stats', typed_config: typed('stats.PluginConfig', {}) };
const tcpProxy = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: cluster, cluster } });
const STATS_CONFIG = { use_all_default_tags: false, stats_matcher: { inclusion_list: { patterns: [{ prefix: 'istio' }] } } };

function node(app: string) {
  return {
    id: `sidecar~127.0.0.1~${app}-v1-abc12.db~db.svc.cluster.local`,
    cluster: `${app}.db`,
    metadata: {
      NAME: `${app}-v1-abc12`, NAMESPACE: 'db', WORKLOAD_NAME: `${app}-v1`, CLUSTER_ID: 'Kubernetes',
      LABELS: { app, version: 'v1', 'service.istio.io/canonical-name': app, 'service.istio.io/canonical-revision': 'v1' },
    },
  };
}

t.test('istio_tcp_* and a clean byte stream between two sidecars', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const serverCert = ca.issue('mysql', ['URI:spiffe://cluster.local/ns/db/sa/mysql']);
  const clientCert = ca.issue('api', ['URI:spiffe://cluster.local/ns/db/sa/api']);
  // The app: greets first (a server-first protocol), then echoes upper-cased.
  const received: Buffer[] = [];
  const app = net.createServer((socket) => {
    socket.write('hello from mysql\n');
    socket.on('data', (d: Buffer) => {
      received.push(d);
      socket.write(d.toString().toUpperCase());
    });
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  t.teardown(() => app.close());

  const server = await startLegate(bootstrap(
    [{
      name: 'virtualInbound', address: socketAddress('127.0.0.1', 0), traffic_direction: 'INBOUND',
      filter_chains: [{
        transport_socket: downstreamTls({
          tls_certificates: [certFiles(serverCert)], validation_context: { trusted_ca: { filename: ca.certFile } },
          alpn_protocols: ['istio-peer-exchange', 'istio'],
        }, { require_client_certificate: true }),
        filters: [exchange, istioStats, tcpProxy('inbound|3306||')],
      }],
    }],
    [staticCluster('inbound|3306||', [{ port: (app.address() as net.AddressInfo).port }])],
    { node: node('mysql'), stats_config: STATS_CONFIG },
  ));
  t.teardown(() => server.stop());

  const outbound = 'outbound|3306||mysql.db.svc.cluster.local';
  const client = await startLegate(bootstrap(
    [{ name: '0.0.0.0_3306', address: socketAddress('127.0.0.1', 0), traffic_direction: 'OUTBOUND', filter_chains: [{ filters: [istioStats, tcpProxy(outbound)] }] }],
    [staticCluster(outbound, [{ port: server.port('virtualInbound') }], {
      filters: [exchange],
      metadata: { filter_metadata: { istio: { services: [{ host: 'mysql.db.svc.cluster.local', name: 'mysql', namespace: 'db' }] } } },
      transport_socket: upstreamTls({ tls_certificates: [certFiles(clientCert)], validation_context: { trusted_ca: { filename: ca.certFile } }, alpn_protocols: ['istio-peer-exchange', 'istio'] }),
    })],
    { node: node('api'), stats_config: STATS_CONFIG },
  ));
  t.teardown(() => client.stop());

  // A client of the outbound listener: reads the greeting, sends, reads the echo, closes.
  const socket = net.connect(client.port('0.0.0.0_3306'), '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  const until = (want: string) => new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`waited for ${JSON.stringify(want)}, got ${JSON.stringify(text)}`)), 5000);
    const check = () => (text.includes(want) ? (clearTimeout(deadline), resolve()) : socket.once('data', check));
    check();
  });
  await until('hello from mysql\n');
  socket.write('select 1');
  await until('SELECT 1');
  socket.end();
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  t.equal(text, 'hello from mysql\nSELECT 1', 'the client sees the app\'s bytes only');
  t.equal(Buffer.concat(received).toString(), 'select 1', 'the app sees the client\'s bytes only');

  const common = {
    source_workload: 'api-v1', source_workload_namespace: 'db', source_app: 'api', destination_workload: 'mysql-v1',
    destination_workload_namespace: 'db', destination_app: 'mysql', request_protocol: 'tcp',
  };
  // The close reaches each sidecar's stats once its side of the connection is gone.
  const closedOn = (legate: { adminUrl(path: string): string }) => waitFor('istio_tcp_connections_closed_total', async () => {
    const closed = series((await fetchText(legate.adminUrl('/stats/prometheus'))).body, 'istio_tcp_connections_closed_total');
    return closed.length > 0 ? closed : undefined;
  });
  await closedOn(server);
  await closedOn(client);
  const serverMetrics = (await fetchText(server.adminUrl('/stats/prometheus'))).body;
  t.match(series(serverMetrics, 'istio_tcp_connections_opened_total'), [{
    reporter: 'destination', ...common, source_principal: 'spiffe://cluster.local/ns/db/sa/api',
    destination_principal: 'spiffe://cluster.local/ns/db/sa/mysql', connection_security_policy: 'mutual_tls', value: '1',
  }]);
  t.match(series(serverMetrics, 'istio_tcp_received_bytes_total'), [{ reporter: 'destination', value: '8' }], 'the app\'s bytes, not the header');
  t.match(series(serverMetrics, 'istio_tcp_sent_bytes_total'), [{ reporter: 'destination', value: String('hello from mysql\nSELECT 1'.length) }]);
  const clientMetrics = (await fetchText(client.adminUrl('/stats/prometheus'))).body;
  t.match(series(clientMetrics, 'istio_tcp_connections_opened_total'), [{
    reporter: 'source', ...common, destination_service: 'mysql.db.svc.cluster.local', destination_service_name: 'mysql',
    source_principal: 'spiffe://cluster.local/ns/db/sa/api', destination_principal: 'spiffe://cluster.local/ns/db/sa/mysql', value: '1',
  }], 'the client learned the server\'s workload from its exchange header');
  t.match(series(clientMetrics, 'istio_tcp_connections_closed_total'), [{ reporter: 'source', value: '1' }]);
});
