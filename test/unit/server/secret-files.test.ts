// SecretFiles with ADS secrets, without a stream: what waits for a secret is left out, a secret
// fills the TLS context in, a bad one is rejected (update_rejected) and the last good one kept,
// and a new version of a listener that waits for a new secret leaves the previous one serving.
import t from 'tap';
import { translateCluster, translateListener } from '../../../proxy/config/index.ts';
import { SecretFiles } from '../../../proxy/server/secret-files.ts';
import { Store } from '../../../proxy/stats/index.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';

const skip = opensslMissing();
const DOWNSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const TCP = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const UPSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

function listener(secret: string, statPrefix = 'tcp') {
  return translateListener({
    name: 'l',
    address: { socket_address: { address: '127.0.0.1', port_value: 8443 } },
    filter_chains: [{
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM, common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: secret, sds_config: { ads: {} } }],
      } } },
      filters: [{ name: 'tcp', typed_config: { '@type': TCP, stat_prefix: statPrefix, cluster: 'c' } }],
    }],
  }).listener;
}

function update(version: string, name: string, cert: LeafCert, key = cert.key) {
  const resource = { name, tls_certificate: { certificate_chain: { inline_string: cert.cert }, private_key: { inline_string: key } } };
  return { version, resources: [{ name, version, resource }], removed: [], complete: false };
}

t.test('SecretFiles over ADS', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const a = ca.issue('a.test', ['DNS:a.test']);
  const b = ca.issue('b.test', ['DNS:b.test']);
  const store = new Store();
  const logs: string[] = [];
  let changes = 0;
  const secrets = new SecretFiles({ store, log: (line) => logs.push(line), onChange: () => changes++ });
  t.teardown(() => secrets.stop());

  const v1 = { listeners: [listener('one')], clusters: [] };
  t.same(secrets.adsNames(v1), ['one']);
  t.same(secrets.resolve(v1).listeners, [], 'warming: left out');
  t.match(logs.join('\n'), /listener 'l' warms: waiting for secret 'one' \(tls_certificate\) from ADS/);

  t.same(await secrets.adsUpdate(update('1', 'one', a)), { ok: true });
  t.equal(changes, 1);
  t.equal(store.counter('sds.one.update_success').value, 1);
  const served = secrets.resolve(v1).listeners;
  t.equal(served.length, 1);
  t.equal(served[0].filterChains[0].tls!.certificates[0].certificateChain, a.cert);

  const bad = await secrets.adsUpdate(update('2', 'one', a, b.key));
  t.equal(bad.ok, false);
  t.match(bad.ok ? '' : bad.error, /private_key: the private key does not match the certificate/);
  t.notOk(bad.ok ? '' : bad.error.includes('PRIVATE KEY'), 'no key in the error');
  t.equal(store.counter('sds.one.update_rejected').value, 1);
  t.equal(secrets.resolve(v1).listeners[0].filterChains[0].tls!.certificates[0].certificateChain, a.cert, 'the last good secret stays');

  // A new version of the listener waits for secret 'two': the previous version serves meanwhile.
  const v2 = { listeners: [listener('two', 'tcp2')], clusters: [] };
  t.same(secrets.adsNames(v2), ['two']);
  const meanwhile = secrets.resolve(v2).listeners;
  t.equal(meanwhile.length, 1);
  t.equal(meanwhile[0].filterChains[0].tls!.certificates[0].certificateChain, a.cert, 'the previous version');
  await secrets.adsUpdate(update('1', 'two', b));
  const now = secrets.resolve(v2).listeners;
  t.equal(now[0].filterChains[0].tls!.certificates[0].certificateChain, b.cert, 'the new version once its secret is there');
});

t.test('SecretFiles: a cluster with its client certificate and CA over ADS', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const client = ca.issue('client.test', ['DNS:client.test']);
  const store = new Store();
  const secrets = new SecretFiles({ store, log: () => undefined, onChange: () => undefined });
  t.teardown(() => secrets.stop());
  const { cluster } = translateCluster({
    name: 'c', type: 'STATIC', connect_timeout: '1s',
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM, sni: 'server.test', common_tls_context: {
      tls_certificate_sds_secret_configs: [{ name: 'client', sds_config: { ads: {} } }],
      validation_context_sds_secret_config: { name: 'ca', sds_config: { ads: {} } },
    } } },
  });
  const parts = { listeners: [], clusters: [cluster] };
  t.same(secrets.adsNames(parts), ['ca', 'client']);
  await secrets.adsUpdate(update('1', 'client', client));
  t.same(secrets.resolve(parts).clusters, [], 'still waiting for its CA');
  const ok = await secrets.adsUpdate({ version: '2', resources: [{ name: 'ca', version: '2', resource: { name: 'ca', validation_context: { trusted_ca: { inline_string: ca.cert } } } }], removed: [], complete: false });
  t.same(ok, { ok: true });
  const [resolved] = secrets.resolve(parts).clusters;
  t.equal(resolved.tls!.certificates[0].certificateChain, client.cert);
  t.equal(resolved.tls!.validation!.trustedCa, ca.cert);
  t.equal(resolved.tls!.sni, 'server.test', 'the rest of the context as configured');
});
