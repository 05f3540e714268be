// gRPC health checks over the cluster's TLS: Legate's primary checks a grpc-js server with TLS
// credentials (ALPN h2, SNI and SAN as the cluster's traffic) and finds it healthy; a cluster
// that does not trust the server's CA keeps the host failed with network failures.
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startGrpcHealthServer } from '../../support/grpc-health-server.ts';
import { waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { upstreamTls } from './support.ts';

const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

t.test('gRPC health checks over TLS', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const otherCa = createTestCa('Other CA');
  t.teardown(() => otherCa.remove());
  const leaf = ca.issue('backend.test', ['DNS:backend.test']);
  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(leaf.cert), private_key: Buffer.from(leaf.key) }]);
  const server = await startGrpcHealthServer(t, { app: 'SERVING' }, undefined, credentials);

  const cluster = (name: string, trustedCa: string) => staticCluster(name, [{ port: server.port }], {
    typed_extension_protocol_options: { [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } },
    transport_socket: upstreamTls({
      validation_context: { trusted_ca: { filename: trustedCa }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'backend.test' } }] },
    }, { sni: 'backend.test' }),
    health_checks: [{ timeout: '1s', interval: '0.05s', unhealthy_threshold: 1, healthy_threshold: 1, grpc_health_check: { service_name: 'app' } }],
  });
  const legate = await startLegate(bootstrap(
    [httpListener('in', routes([{ match: { prefix: '/' }, route: { cluster: 'secure' } }]))],
    [cluster('secure', ca.certFile), cluster('untrusted', otherCa.certFile)],
  ));
  t.teardown(() => legate.stop());

  const healthFlags = async (name: string) => (await legate.primary.clusters()).find((c) => c.name === name)!.hosts[0].healthFlags;
  await waitFor('the TLS host healthy', async () => ((await healthFlags('secure')) === 'healthy' ? true : undefined));
  t.equal(server.calls[0].service, 'app', 'the check reached the server over TLS');
  t.equal(server.calls[0].authority, 'secure');

  const counters = async () => (await legate.primary.stats()).counters;
  await waitFor('network failures of the untrusted cluster', async () => (((await counters()).get('cluster.untrusted.health_check.network_failure') ?? 0) >= 2 ? true : undefined));
  t.equal(await healthFlags('untrusted'), '/failed_active_hc');
  t.equal((await counters()).get('cluster.untrusted.health_check.success') ?? 0, 0, 'never healthy');
});
