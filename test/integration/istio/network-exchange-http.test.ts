// Istio's network istio.metadata_exchange in front of an HTTP connection manager, as older istiods'
// virtualInbound has it. A client that negotiates `istio-peer-exchange` over mutual TLS writes its
// exchange header then an HTTP/1.1 request: Legate sends its own header first, strips the client's,
// its connection manager serves the request from the bytes after it, and istio.stats reports the
// client's workload as the source. A client negotiating http/1.1 on the same chain is served as
// usual, its source unknown; one that never finishes its header is closed by a drain at once.
import tls from 'node:tls';
import t from 'tap';
import { HCM_TYPE, ROUTER_TYPE, bootstrap, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { series } from '../../support/prometheus.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { certFiles, downstreamTls } from '../tls/support.ts';
import { ExchangeReader, exchangeHeader } from '../../../proxy/istio/exchange.ts';
import { workloadFromStruct } from '../../../proxy/istio/workload-metadata.ts';

const T = 'type.googleapis.com/';
const typedStruct = (type: string, value: object) => ({ '@type': `${T}udpa.type.v1.TypedStruct`, type_url: `${T}${type}`, value });
const STATS_CONFIG = { use_all_default_tags: false, stats_matcher: { inclusion_list: { patterns: [{ prefix: 'istio' }] } } };
const meta = (app: string) => ({
  NAME: `${app}-v1-abc12`, NAMESPACE: 'shop', WORKLOAD_NAME: `${app}-v1`, CLUSTER_ID: 'Kubernetes',
  LABELS: { app, version: 'v1', 'service.istio.io/canonical-name': app, 'service.istio.io/canonical-revision': 'v1' },
});

interface Reply { peer: string; response: string }

// One GET over a TLS connection offering `alpn`; with the exchange, our header first and Legate's read off.
function get(port: number, ca: string, client: LeafCert, alpn: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, cert: client.cert, key: client.key, servername: 'cart', ALPNProtocols: [alpn] });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${path} in 5 s`));
    }, 5000);
    const exchanging = alpn === 'istio-peer-exchange';
    const reader = new ExchangeReader(new Set());
    const chunks: Buffer[] = [];
    socket.on('secureConnect', () => {
      if (exchanging) socket.write(exchangeHeader(workloadFromStruct(meta('sleep'), new Set()), 'sidecar~10.0.0.9~sleep-v1-abc12.shop~shop.svc.cluster.local'));
      socket.write(`GET ${path} HTTP/1.1\r\nhost: cart.shop\r\nconnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(exchanging ? reader.push(chunk) : chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ peer: reader.peer?.workload ?? '', response: Buffer.concat(chunks).toString() });
    });
  });
}

t.test('the network exchange before a connection manager: prefix read and written, the source reported', { skip: opensslMissing(), timeout: 30_000 }, async (t) => {
  const workload = await startUpstreamFor(t, 'cart');
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const serverCert = ca.issue('cart', ['URI:spiffe://cluster.local/ns/shop/sa/cart']);
  const client = ca.issue('sleep', ['URI:spiffe://cluster.local/ns/shop/sa/sleep']);
  const legate = await startLegate(bootstrap(
    [{
      name: 'virtualInbound', address: socketAddress('127.0.0.1', 0), traffic_direction: 'INBOUND',
      filter_chains: [{
        transport_socket: downstreamTls({
          tls_certificates: [certFiles(serverCert)], validation_context: { trusted_ca: { filename: ca.certFile } },
          alpn_protocols: ['istio-peer-exchange', 'http/1.1'],
        }, { require_client_certificate: true }),
        filters: [
          { name: 'istio.metadata_exchange', typed_config: typedStruct('envoy.tcp.metadataexchange.config.MetadataExchange', { protocol: 'istio-peer-exchange' }) },
          { name: 'envoy.filters.network.http_connection_manager', typed_config: {
            '@type': HCM_TYPE,
            stat_prefix: 'inbound_0.0.0.0_80',
            route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'inbound|80||' } }]),
            http_filters: [
              { name: 'istio.stats', typed_config: typedStruct('stats.PluginConfig', {}) },
              { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
            ],
          } },
        ],
      }],
    }],
    [staticCluster('inbound|80||', [{ port: workload.port }])],
    { node: { id: 'sidecar~127.0.0.1~cart-v1-abc12.shop~shop.svc.cluster.local', cluster: 'cart.shop', metadata: meta('cart') }, stats_config: STATS_CONFIG },
  ));
  t.teardown(() => legate.stop());
  const port = legate.port('virtualInbound');

  const exchanged = await get(port, ca.cert, client, 'istio-peer-exchange', '/exchanged');
  t.equal(exchanged.peer, 'cart-v1', "Legate's exchange header came first");
  t.match(exchanged.response, /^HTTP\/1\.1 200 /, 'the request after the client\'s header was served');
  t.match(exchanged.response, /"upstream":"cart"/);
  const plain = await get(port, ca.cert, client, 'http/1.1', '/plain');
  t.match(plain.response, /^HTTP\/1\.1 200 /, 'without the exchange protocol the chain serves as usual');

  const requests = await waitFor('istio_requests_total of both requests', async () => {
    const found = series((await fetchText(legate.adminUrl('/stats/prometheus'))).body, 'istio_requests_total');
    return found.length === 2 ? found : undefined;
  });
  t.match(requests.filter((s) => s.source_workload === 'sleep-v1'), [{
    reporter: 'destination', source_app: 'sleep', source_workload_namespace: 'shop', source_canonical_service: 'sleep',
    destination_workload: 'cart-v1', response_code: '200', value: '1',
  }], "the exchanged peer is the source");
  t.match(requests.filter((s) => s.source_workload === 'unknown'), [{ source_app: 'unknown', value: '1' }], 'no exchange: no peer');

  // A client that never finishes its header is idle to the connection manager: a drain closes it at
  // once, not at the end of the drain time (1 s in tests).
  const silent = tls.connect({ port, host: '127.0.0.1', ca: ca.cert, cert: client.cert, key: client.key, servername: 'cart', ALPNProtocols: ['istio-peer-exchange'] });
  silent.on('error', () => {});
  const closed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    silent.once('secureConnect', () => resolve());
    silent.once('close', () => reject(new Error('closed before the handshake')));
  });
  silent.write(Buffer.from([0x3d, 0x23])); // half of the magic
  await new Promise<void>((resolve) => silent.once('data', () => resolve())); // the server's exchange header
  const stopping = Date.now();
  const stopped = legate.stop();
  await closed;
  t.ok(Date.now() - stopping < 800, 'the connection still exchanging closed with the drain');
  await stopped;
});
