// SDS over ADS (sds_config: { ads: {} }) with a real gRPC management server, state of the world
// and delta: a TLS listener warms (is not bound) until its secret arrives, then serves it; a bad
// secret (key not matching its certificate) is NACKed, counted in sds.<name>.update_rejected,
// and the last good one keeps serving; a new good one rotates new handshakes. And a listener from
// LDS naming one of the bootstrap's static secrets.
import t from 'tap';
import { socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { adsBootstrap, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, startManagementServer } from '../../support/xds-proxy.ts';
import { downstreamTls, hcmToBackend, httpsGet } from './support.ts';

const skip = opensslMissing();
const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

function secret(name: string, cert: LeafCert, key = cert.key) {
  return { '@type': SECRET_TYPE_URL, name, tls_certificate: { certificate_chain: { inline_string: cert.cert }, private_key: { inline_string: key } } };
}

for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
  t.test(`SDS over ADS (${apiType})`, { skip }, async (t) => {
    const ca = createTestCa();
    t.teardown(() => ca.remove());
    const certA = ca.issue('ads-a.test', ['DNS:sds.test']);
    const certB = ca.issue('ads-b.test', ['DNS:sds.test']);
    const upstream = await startUpstream('backend', echoHandler('backend'));
    t.teardown(() => upstream.close());
    const server = await startManagementServer(t);
    const listener = {
      name: 'secure',
      address: socketAddress('127.0.0.1', 0),
      filter_chains: [{
        transport_socket: downstreamTls({ tls_certificate_sds_secret_configs: [{ name: 'server', sds_config: { ads: {}, resource_api_version: 'V3' } }] }),
        filters: [hcmToBackend('secure')],
      }],
    };
    const logs: string[] = [];
    const legate = await startLegate(adsBootstrap(server.port, {
      apiType,
      ldsAndCds: false,
      listeners: [listener],
      clusters: [staticCluster('backend', [{ port: upstream.port }])],
    }), { log: (line) => logs.push(line) });
    t.teardown(() => legate.stop());
    const stat = async (name: string) => (await statsMap(legate.adminUrl(''))).get(name) ?? 0;
    const bound = () => {
      try {
        return legate.port('secure');
      } catch {
        return undefined;
      }
    };
    const secretRequests = () => server.requests.filter((r) => r.request.type_url === SECRET_TYPE_URL);

    // Subscribed by name, and warming: not bound.
    await server.waitForRequest((r) => r.request.type_url === SECRET_TYPE_URL
      && JSON.stringify(r.request.resource_names ?? r.request.resource_names_subscribe ?? []).includes('server'));
    t.equal(bound(), undefined, 'the listener warms while its secret has not arrived');

    server.setResources(SECRET_TYPE_URL, 's1', [secret('server', certA)]);
    const port = await waitFor('the listener bound', bound, 10_000);
    const a = await httpsGet(port, '/', { ca: ca.cert, servername: 'sds.test' });
    t.equal(a.status, 200);
    t.equal(a.peerCn, 'ads-a.test');
    t.equal(await stat('sds.server.update_success'), 1);

    const before = server.requests.length;
    server.setResources(SECRET_TYPE_URL, 's2', [secret('server', certA, certB.key)]);
    const nack = await server.waitForRequest((r) => r.request.type_url === SECRET_TYPE_URL && r.request.error_detail != null, { after: before });
    t.match(JSON.stringify(nack.request.error_detail), /does not match the certificate/, 'NACKed with the reason');
    t.notOk(JSON.stringify(nack.request).includes('PRIVATE KEY'), 'no key in the NACK');
    t.equal(await stat('sds.server.update_rejected'), 1);
    const kept = await httpsGet(port, '/', { ca: ca.cert, servername: 'sds.test' });
    t.equal(kept.peerCn, 'ads-a.test', 'the last good secret serves on');

    server.setResources(SECRET_TYPE_URL, 's3', [secret('server', certB)]);
    await waitFor('cert B on new handshakes', async () => ((await httpsGet(port, '/', { ca: ca.cert, servername: 'sds.test' })).peerCn === 'ads-b.test' ? true : undefined), 10_000);
    t.equal(await stat('sds.server.update_success'), 2);
    t.ok(secretRequests().length >= 3, 'requests for the secret type: subscribe, ACKs, NACK');
    t.notOk(logs.some((l) => l.includes('PRIVATE KEY')), 'no key in the log');
  });
}

t.test('an LDS listener names a static secret of the bootstrap', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const cert = ca.issue('static.test', ['DNS:sds.test']);
  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());
  const server = await startManagementServer(t);
  server.setResources(CLUSTER_TYPE_URL, 'c1', []);
  server.setResources(LISTENER_TYPE_URL, 'l1', [JSON.parse(JSON.stringify({
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: 'from-lds',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({ tls_certificate_sds_secret_configs: [{ name: 'static-cert' }] }),
      filters: [hcmToBackend('lds')],
    }],
  }))]);
  const config = adsBootstrap(server.port, { clusters: [staticCluster('backend', [{ port: upstream.port }])] });
  const withSecret = { ...config, static_resources: { ...config.static_resources, secrets: [
    { name: 'static-cert', tls_certificate: { certificate_chain: { filename: cert.certFile }, private_key: { filename: cert.keyFile } } },
  ] } };
  const legate = await startLegate(withSecret);
  t.teardown(() => legate.stop());
  const reply = await httpsGet(legate.port('from-lds'), '/', { ca: ca.cert, servername: 'sds.test' });
  t.equal(reply.status, 200);
  t.equal(reply.peerCn, 'static.test');
});
