// transport_socket_matches as Istio uses them: one cluster, two endpoints; the endpoint whose
// "envoy.transport_socket_match" metadata says tlsMode: istio gets TLS, the other plain TCP (the
// empty match), each on its own connections. A wrong transport on either would fail the request.
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { bootstrap, httpListener, routes, socketAddress } from '../../support/bootstrap.ts';
import { fetchText, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { upstreamTls } from './support.ts';

const skip = opensslMissing();
const RAW_BUFFER = { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } };

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function endpoint(port: number, match?: object) {
  return {
    endpoint: { address: socketAddress('127.0.0.1', port) },
    ...(match === undefined ? {} : { metadata: { filter_metadata: { 'envoy.transport_socket_match': match } } }),
  };
}

t.test('transport_socket_matches', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('mesh', ['DNS:mesh.test']);
  const reply = (name: string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.once('end', () => res.end(name));
  };
  const secure = https.createServer({ cert: leaf.cert, key: leaf.key }, reply('tls'));
  const plain = http.createServer(reply('plain'));
  const securePort = await listen(secure);
  const plainPort = await listen(plain);
  t.teardown(() => {
    secure.closeAllConnections();
    secure.close();
    plain.closeAllConnections();
    plain.close();
  });
  const tls = upstreamTls({ validation_context: { trusted_ca: { filename: ca.certFile } } }, { sni: 'mesh.test' });
  const cluster = (name: string, extra: object) => ({
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [endpoint(securePort, { tlsMode: 'istio' }), endpoint(plainPort, { tlsMode: 'disabled' })] }] },
    ...extra,
  });
  const listener = httpListener('in', routes([
      { match: { prefix: '/fallback' }, route: { cluster: 'fallback' } },
      { match: { prefix: '/' }, route: { cluster: 'mesh' } },
  ]));
  const legate = await startLegate(bootstrap([listener], [
    // Istio's shape: TLS for tlsMode istio, plain for everything else.
    cluster('mesh', { transport_socket_matches: [
      { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: tls },
      { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER },
    ] }),
    // No entry matches the plain endpoint: it gets the cluster's own transport_socket (raw here).
    cluster('fallback', { transport_socket_matches: [{ name: 'tls', match: { tlsMode: 'istio' }, transport_socket: tls }] }),
    // Active HTTP health checks: each probe must use its host's transport, or that host fails.
    cluster('checked', {
      health_checks: [{ timeout: '1s', interval: '0.1s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/healthz' } }],
      transport_socket_matches: [{ name: 'tls', match: { tlsMode: 'istio' }, transport_socket: tls }],
    }),
  ]));
  t.teardown(() => legate.stop());

  t.test('health checks probe each host over its matched transport', async (t) => {
    const healthy = await waitFor('both hosts healthy', async () => {
      const stats = await statsMap(legate.adminUrl(''));
      return stats.get('cluster.checked.health_check.healthy') === 2 ? 2 : undefined;
    });
    t.equal(healthy, 2);
    const stats = await statsMap(legate.adminUrl(''));
    t.equal(stats.get('cluster.checked.health_check.failure') ?? 0, 0, 'no probe failed');
  });

  for (const [path, stat] of [['/', 'mesh'], ['/fallback', 'fallback']] as const) {
    t.test(`${stat}: the tlsMode istio endpoint gets TLS, the other plain`, async (t) => {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await fetchText(`http://127.0.0.1:${legate.port('in')}${path}`);
        t.equal(r.status, 200, `request ${i}`);
        seen.push(r.body);
      }
      t.same([...new Set(seen)].sort(), ['plain', 'tls'], 'both endpoints served');
      const stats = await statsMap(legate.adminUrl(''));
      t.equal(stats.get(`cluster.${stat}.ssl.handshake`), 1, 'one TLS connection, reused; none to the plain endpoint');
      t.equal(stats.get(`cluster.${stat}.upstream_cx_total`), 2, 'one connection per endpoint');
    });
  }
});
