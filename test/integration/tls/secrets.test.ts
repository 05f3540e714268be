// Static secrets (static_resources.secrets) named by SdsSecretConfig without sds_config: a TLS
// listener whose certificate and client validation come from secrets, and a cluster whose client
// certificate and trusted CA do, in one Legate -> Legate mutual TLS hop on loopback; /config_dump
// shows no private key.
import t from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { downstreamTls, hcmToCluster as hcm, httpsGet, upstreamTls } from './support.ts';

const skip = opensslMissing();


t.test('static secrets', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const server = ca.issue('secret-server.test', ['DNS:secret-server.test']);
  const client = ca.issue('secret-client.test', ['URI:spiffe://cluster.local/ns/a/sa/client']);
  const withSecrets = (config: ReturnType<typeof bootstrap>) => ({ ...config, static_resources: { ...config.static_resources, secrets } });
  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());

  const secrets = [
    { name: 'server-cert', tls_certificate: { certificate_chain: { filename: server.certFile }, private_key: { inline_string: server.key } } },
    { name: 'client-cert', tls_certificate: { certificate_chain: { inline_string: client.cert }, private_key: { filename: client.keyFile } } },
    { name: 'mesh-ca', validation_context: { trusted_ca: { filename: ca.certFile } } },
    { name: 'client-only', validation_context: {
      trusted_ca: { filename: ca.certFile },
      match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/a/sa/client' } }],
    } },
  ];
  // The inner Legate: TLS with the server secret, client certificates checked by a secret.
  const inner = await startLegate(withSecrets(bootstrap([{
    name: 'secure',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({
        tls_certificate_sds_secret_configs: [{ name: 'server-cert' }],
        validation_context_sds_secret_config: { name: 'client-only' },
      }, { require_client_certificate: true }),
      filters: [hcm('secure', 'backend')],
    }],
  }], [staticCluster('backend', [{ port: upstream.port }])])));
  t.teardown(() => inner.stop());
  const innerPort = inner.port('secure');

  // The outer Legate: plain HTTP in, mutual TLS to the inner one with the client secret.
  const outer = await startLegate(withSecrets(bootstrap(
    [{ name: 'edge', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [hcm('edge', 'inner')] }] }],
    [staticCluster('inner', [{ port: innerPort }], {
      transport_socket: upstreamTls({
        tls_certificate_sds_secret_configs: [{ name: 'client-cert' }],
        validation_context_sds_secret_config: { name: 'mesh-ca' },
      }, { sni: 'secret-server.test' }),
    })],
  )));
  t.teardown(() => outer.stop());

  t.test('the listener serves the secret\'s certificate and checks clients with the secret\'s CA and SAN', async (t) => {
    const reply = await httpsGet(innerPort, '/direct', { ca: ca.cert, cert: client.cert, key: client.key, servername: 'secret-server.test' });
    t.equal(reply.status, 200);
    t.equal(reply.peerCn, 'secret-server.test');
    await t.rejects(httpsGet(innerPort, '/no-client-cert', { ca: ca.cert, servername: 'secret-server.test' }), 'a client without a certificate is refused');
    const wrong = ca.issue('other-client.test', ['URI:spiffe://cluster.local/ns/a/sa/other']);
    await t.rejects(httpsGet(innerPort, '/wrong-san', { ca: ca.cert, cert: wrong.cert, key: wrong.key, servername: 'secret-server.test' }), 'the secret\'s SAN matcher refuses another client');
  });

  t.test('a cluster presents the client secret and verifies with the CA secret', async (t) => {
    const reply = await fetchText(`http://127.0.0.1:${outer.port('edge')}/hop`);
    t.equal(reply.status, 200, reply.body);
    t.match(reply.body, /backend/);
  });

  t.test('/config_dump shows no private key', async (t) => {
    for (const legate of [inner, outer]) {
      const dump = (await fetchText(legate.adminUrl('/config_dump'))).body;
      t.notOk(dump.includes('PRIVATE KEY'), 'no PEM key');
    }
  });
});
