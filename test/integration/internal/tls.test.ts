// TLS over an internal connection, as Envoy runs transport sockets on its user-space sockets: a
// cluster with an UpstreamTlsContext reaches an internal listener whose filter chain terminates
// TLS; the server's SAN is checked, and a wrong one is a connect failure (503 UF).
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalHttpListener } from './fixtures.ts';

const upstreamTls = (caFile: string, san: string) => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    sni: 'inner.test',
    common_tls_context: { validation_context: { trusted_ca: { filename: caFile }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: san } }] } },
  },
});

t.test('TLS originated to, and terminated by, an internal listener', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('inner', ['DNS:inner.test']);
  const app = await startUpstreamFor(t, 'app');
  const inner = {
    ...internalHttpListener('inner', 'app'),
    filter_chains: [{
      ...internalHttpListener('inner', 'app').filter_chains[0],
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: { tls_certificates: [{ certificate_chain: { filename: leaf.certFile }, private_key: { filename: leaf.keyFile } }] },
      } },
    }],
  };
  const legate = await startLegate(bootstrap(
    [httpListener('public', routes([
      { match: { prefix: '/good' }, route: { cluster: 'to_inner' } },
      { match: { prefix: '/bad' }, route: { cluster: 'to_inner_wrong_san' } },
    ])), inner],
    [
      internalCluster('to_inner', 'inner', { transport_socket: upstreamTls(ca.certFile, 'inner.test') }),
      internalCluster('to_inner_wrong_san', 'inner', { transport_socket: upstreamTls(ca.certFile, 'other.test') }),
      staticCluster('app', [{ port: app.port }]),
    ],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());

  for (const path of ['/good/1', '/good/2']) {
    const reply = await nodeRequest(legate.url(path, 'public'));
    t.equal(reply.status, 200);
    t.same(JSON.parse(reply.body), { upstream: 'app', path });
  }
  const bad = await nodeRequest(legate.url('/bad', 'public'));
  t.equal(bad.status, 503, 'a SAN that does not match fails the connection');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.to_inner.ssl.handshake'), 1, 'one handshake, the connection reused');
  t.equal(stats.get('listener.envoy_internal_inner.ssl.handshake'), 2, 'the internal listener terminated both');
  t.equal(stats.get('cluster.to_inner_wrong_san.ssl.fail_verify_san'), 1);
  t.equal(stats.get('cluster.to_inner_wrong_san.upstream_cx_connect_fail'), 1);
});
