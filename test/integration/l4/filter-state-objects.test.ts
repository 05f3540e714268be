// The well-known filter state objects tcp_proxy's connection reads, set by the network
// set_filter_state: envoy.tcp_proxy.cluster picks the cluster (here by SNI, TLS passed through
// untouched, Envoy's SNI routing recipe), and envoy.network.upstream_server_name and
// envoy.network.application_protocols give the upstream TLS connection its SNI and ALPN.
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import t, { type Test } from 'tap';
import { TCP_PROXY_TYPE, bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing, type LeafCert, type TestCa } from '../../support/test-ca.ts';
import { TLS_INSPECTOR, upstreamTls } from '../tls/support.ts';

const T = 'type.googleapis.com/';

const setFilterState = (values: [key: string, format: string][]) => ({
  name: 'envoy.filters.network.set_filter_state',
  typed_config: {
    '@type': `${T}envoy.extensions.filters.network.set_filter_state.v3.Config`,
    on_new_connection: values.map(([key, format]) => ({ object_key: key, format_string: { text_format_source: { inline_string: format } } })),
  },
});
const tcpListener = (name: string, filters: object[], extra: object = {}) => ({
  name,
  address: socketAddress('127.0.0.1', 0),
  filter_chains: [{ filters: [...filters, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: name, cluster: 'configured' } }] }],
  ...extra,
});

/** A TLS server answering each connection with its name, the SNI and ALPN list it was offered. */
async function startTlsServer(t: Test, name: string, cert: LeafCert) {
  const server = tls.createServer({
    cert: cert.cert,
    key: cert.key,
    ALPNCallback: ({ protocols }) => {
      offered.push(protocols.join(','));
      return protocols[0];
    },
  }, (socket) => {
    socket.on('error', () => {});
    socket.end(`${name} sni=${(socket as tls.TLSSocket & { servername?: string | false }).servername || '-'}\n`);
  });
  const offered: string[] = [];
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return { port: (server.address() as AddressInfo).port, offered };
}

function readAll(socket: net.Socket | tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer in 5 s'));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (out += chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function tlsThrough(port: number, ca: TestCa, servername: string): Promise<string> {
  return readAll(tls.connect({ port, host: '127.0.0.1', servername, ca: ca.cert }));
}

t.test('envoy.tcp_proxy.cluster, envoy.network.upstream_server_name and application_protocols', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const a = await startTlsServer(t, 'server-a', ca.issue('a', ['DNS:a.test']));
  const b = await startTlsServer(t, 'server-b', ca.issue('b', ['DNS:b.test']));
  const c = await startTlsServer(t, 'server-c', ca.issue('c', ['DNS:from-state.test']));
  const legate = await startLegate(bootstrap(
    [
      tcpListener('sni_router', [setFilterState([['envoy.tcp_proxy.cluster', '%REQUESTED_SERVER_NAME%']])], {
        listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR } }],
      }),
      tcpListener('originate', [
        setFilterState([['envoy.tcp_proxy.cluster', 'tls-c'], ['envoy.network.upstream_server_name', 'from-state.test'], ['envoy.network.application_protocols', 'istio-peer-exchange,istio']]),
      ]),
    ],
    [
      staticCluster('a.test', [{ port: a.port }]),
      staticCluster('b.test', [{ port: b.port }]),
      staticCluster('configured', [{ port: 1 }]),
      staticCluster('tls-c', [{ port: c.port }], { transport_socket: upstreamTls({ validation_context: { trusted_ca: { filename: ca.certFile } }, alpn_protocols: ['h2'] }) }),
    ],
  ));
  t.teardown(() => legate.stop());

  t.equal(await tlsThrough(legate.port('sni_router'), ca, 'a.test'), 'server-a sni=a.test\n', 'the SNI named the cluster');
  t.equal(await tlsThrough(legate.port('sni_router'), ca, 'b.test'), 'server-b sni=b.test\n');

  const originated = await readAll(net.connect(legate.port('originate'), '127.0.0.1'));
  t.equal(originated, 'server-c sni=from-state.test\n', "the upstream TLS connection's SNI came from the filter state (the cluster's TLS has none)");
  t.same(c.offered, ['istio-peer-exchange,istio'], "its ALPN list replaced the cluster's h2");
});
