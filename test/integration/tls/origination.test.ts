// TLS origination from Legate's clusters with real certificates from a test CA: HTTPS to a node
// https server with SAN verification, a wrong CA and a wrong SAN failing as 503 UF with the TLS
// failure reason in the access log, the TCP proxy over TLS, active health checks over TLS, and a
// Legate -> Legate mutual TLS hop on loopback.
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster, TCP_PROXY_TYPE } from '../../support/bootstrap.ts';
import { fetchText, statsMap, waitFor, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { certFiles, downstreamTls, hcmToCluster, upstreamTls } from './support.ts';

const skip = opensslMissing();
const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

function hcm(statPrefix: string, cluster: string, logPath?: string) {
  return hcmToCluster(statPrefix, cluster, logPath === undefined ? {} : {
    access_log: [{ name: 'file', typed_config: { '@type': FILE_LOG, path: logPath,
      log_format: { text_format_source: { inline_string: '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_TRANSPORT_FAILURE_REASON%\n' } } } }],
  });
}

async function startHttpsServer(leaf: LeafCert, ca?: string): Promise<{ port: number; clientSans: string[]; close(): Promise<void> }> {
  const clientSans: string[] = [];
  const server = https.createServer({ cert: leaf.cert, key: leaf.key, ca, requestCert: ca !== undefined, rejectUnauthorized: ca !== undefined }, (req, res) => {
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
    if (peer?.subjectaltname) clientSans.push(peer.subjectaltname);
    req.resume();
    req.once('end', () => res.end(`secure upstream ${req.url} sni=${(req.socket as import('node:tls').TLSSocket & { servername?: string }).servername}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    clientSans,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

t.test('TLS origination', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const otherCa = createTestCa('Other CA');
  t.teardown(() => otherCa.remove());
  const backendCert = ca.issue('backend.test', ['DNS:backend.test', 'URI:spiffe://cluster.local/ns/app/sa/backend']);
  const backend = await startHttpsServer(backendCert);
  t.teardown(() => backend.close());
  const logPath = join(ca.dir, 'access.log');
  // verify_certificate_hash as Envoy prints it: colon-separated hex of the DER's SHA-256.
  const backendHash = new X509Certificate(backendCert.cert).fingerprint256;

  const cluster = (name: string, trustedCa: string, san: string, extra: object = {}) => staticCluster(name, [{ port: backend.port }], {
    transport_socket: upstreamTls({
      validation_context: { trusted_ca: { filename: trustedCa }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: san } }] },
    }, { sni: 'backend.test' }),
    ...extra,
  });
  const listener = (name: string, clusterName: string) => ({ name, address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [hcm(name, clusterName, logPath)] }] });
  const legate = await startLegate(bootstrap(
    [
      listener('good', 'good'),
      listener('wrongca', 'wrongca'),
      listener('wrongsan', 'wrongsan'),
      listener('checked', 'checked'),
      listener('tcpchecked', 'tcpchecked'),
      listener('badcheck', 'badcheck'),
      listener('pinned', 'pinned'),
      listener('wrongpin', 'wrongpin'),
      { name: 'tcp', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 'tcp', cluster: 'good' } }] }] },
    ],
    [
      cluster('good', ca.certFile, 'backend.test'),
      cluster('wrongca', otherCa.certFile, 'backend.test'),
      cluster('wrongsan', ca.certFile, 'other.test'),
      cluster('checked', ca.certFile, 'backend.test', {
        health_checks: [{ timeout: '1s', interval: '0.1s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/healthz' } }],
      }),
      cluster('tcpchecked', ca.certFile, 'backend.test', {
        health_checks: [{ timeout: '1s', interval: '0.1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }],
      }),
      staticCluster('pinned', [{ port: backend.port }], { transport_socket: upstreamTls({ validation_context: { verify_certificate_hash: [backendHash], verify_certificate_spki: [Buffer.alloc(32, 7).toString('base64')] } }) }),
      staticCluster('wrongpin', [{ port: backend.port }], { transport_socket: upstreamTls({ validation_context: { verify_certificate_hash: ['00'.repeat(32)] } }) }),
      cluster('badcheck', otherCa.certFile, 'backend.test', {
        health_checks: [{ timeout: '1s', interval: '0.1s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/healthz' } }],
      }),
    ],
  ));
  t.teardown(() => legate.stop());

  t.test('HTTPS to the upstream, SNI sent, SAN verified', async (t) => {
    const reply = await fetchText(legate.url('/hello', 'good'));
    t.equal(reply.status, 200);
    t.equal(reply.body, 'secure upstream /hello sni=backend.test');
    const stats = await statsMap(legate.adminUrl(''));
    t.ok((stats.get('cluster.good.ssl.handshake') ?? 0) >= 1, 'cluster.good.ssl.handshake');
  });

  t.test('a wrong CA is a connect failure: 503 UF with the TLS reason', async (t) => {
    const reply = await fetchText(legate.url('/wrong-ca', 'wrongca'));
    t.equal(reply.status, 503);
    const lines = await waitFor('the access log line', async () => (await waitForLines(logPath, 1)).find((l) => l.startsWith('/wrong-ca ')));
    t.match(lines, /^\/wrong-ca 503 UF TLS_error:\|CERTIFICATE_VERIFY_FAILED:_UNABLE_TO_[A-Z_]+$/, 'OpenSSL\'s verify code, readable');
    const stats = await statsMap(legate.adminUrl(''));
    t.ok((stats.get('cluster.wrongca.ssl.fail_verify_error') ?? 0) >= 1, 'cluster.wrongca.ssl.fail_verify_error');
    t.ok((stats.get('cluster.wrongca.upstream_cx_connect_fail') ?? 0) >= 1, 'counted as a connect failure');
  });

  t.test('a SAN that does not match is a connect failure', async (t) => {
    const reply = await fetchText(legate.url('/wrong-san', 'wrongsan'));
    t.equal(reply.status, 503);
    const line = await waitFor('the access log line', async () => (await waitForLines(logPath, 1)).find((l) => l.startsWith('/wrong-san ')));
    t.match(line, /^\/wrong-san 503 UF TLS_error:\|CERTIFICATE_VERIFY_FAILED:_no_subject_alternative_name_matches$/);
    const stats = await statsMap(legate.adminUrl(''));
    t.ok((stats.get('cluster.wrongsan.ssl.fail_verify_san') ?? 0) >= 1, 'cluster.wrongsan.ssl.fail_verify_san');
  });

  t.test('a pinned certificate hash passes without a CA; a wrong pin fails', async (t) => {
    t.equal((await fetchText(legate.url('/pinned', 'pinned'))).status, 200, 'either list matching is enough');
    t.equal((await fetchText(legate.url('/wrong-pin', 'wrongpin'))).status, 503);
    const stats = await statsMap(legate.adminUrl(''));
    t.ok((stats.get('cluster.wrongpin.ssl.fail_verify_cert_hash') ?? 0) >= 1, 'cluster.wrongpin.ssl.fail_verify_cert_hash');
  });

  t.test('the TCP proxy originates TLS too', async (t) => {
    const net = await import('node:net');
    const socket = net.connect(legate.port('tcp'), '127.0.0.1');
    socket.write('GET /over-tcp HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    await once(socket, 'close');
    t.match(text, /secure upstream \/over-tcp sni=backend\.test/);
  });

  t.test('active HTTP health checks go over the cluster TLS', async (t) => {
    await waitFor('a healthy host', async () => {
      const stats = await statsMap(legate.adminUrl(''));
      return (stats.get('cluster.checked.health_check.success') ?? 0) >= 1 ? true : undefined;
    });
    const reply = await fetchText(legate.url('/checked', 'checked'));
    t.equal(reply.status, 200);
  });

  t.test('a TCP health check connects over TLS', async (t) => {
    await waitFor('a healthy host', async () => {
      const stats = await statsMap(legate.adminUrl(''));
      return (stats.get('cluster.tcpchecked.health_check.success') ?? 0) >= 1 ? true : undefined;
    });
    t.equal((await fetchText(legate.url('/tcp-checked', 'tcpchecked'))).status, 200);
  });

  t.test('a health check verifies the server as the traffic does', async (t) => {
    await waitFor('a failed check', async () => {
      const stats = await statsMap(legate.adminUrl(''));
      return (stats.get('cluster.badcheck.health_check.network_failure') ?? 0) >= 1 ? true : undefined;
    });
    const stats = await statsMap(legate.adminUrl(''));
    t.equal(stats.get('cluster.badcheck.health_check.success') ?? 0, 0, 'never healthy: the CA does not sign the server');
  });
});

t.test('Legate -> Legate mutual TLS on loopback', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const serverCert = ca.issue('inbound', ['DNS:inbound.test', 'URI:spiffe://cluster.local/ns/b/sa/server']);
  const clientCert = ca.issue('outbound', ['URI:spiffe://cluster.local/ns/a/sa/b']);
  const app = await startUpstream('app', echoHandler('app'));
  t.teardown(() => app.close());

  // The inbound Legate: mTLS listener requiring the client's SPIFFE identity, to the plain app.
  const inbound = await startLegate(bootstrap(
    [{
      name: 'inbound',
      address: socketAddress('127.0.0.1', 0),
      filter_chains: [{
        transport_socket: downstreamTls({
          tls_certificates: [certFiles(serverCert)],
          validation_context: { trusted_ca: { filename: ca.certFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/a/' } }] },
        }, { require_client_certificate: true }),
        filters: [hcm('inbound', 'app')],
      }],
    }],
    [staticCluster('app', [{ port: app.port }])],
  ));
  t.teardown(() => inbound.stop());

  // The outbound Legate: plain listener, cluster originating mTLS to the inbound Legate.
  const outbound = await startLegate(bootstrap(
    [{ name: 'outbound', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [hcm('outbound', 'peer')] }] }],
    [staticCluster('peer', [{ port: inbound.port() }], {
      transport_socket: upstreamTls({
        tls_certificates: [certFiles(clientCert)],
        validation_context: { trusted_ca: { filename: ca.certFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/b/sa/server' } }] },
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
      }, { sni: 'inbound.test' }),
    })],
  ));
  t.teardown(() => outbound.stop());

  const reply = await fetchText(outbound.url('/hop'));
  t.equal(reply.status, 200);
  const echo = JSON.parse(reply.body) as { headers: Record<string, string>; url: string };
  t.equal(echo.url, '/hop');
  // The outbound Legate set x-forwarded-proto (http, its own downstream) and the inbound one keeps
  // a trusted value as Envoy does, so the hop's TLS shows in the inbound stats instead.
  t.equal(echo.headers['x-forwarded-proto'], 'http');
  const inboundStats = await statsMap(inbound.adminUrl(''));
  t.ok((inboundStats.get('listener.127.0.0.1_0.ssl.handshake') ?? 0) >= 1, 'the inbound listener counted the handshake');
  t.ok((inboundStats.get('listener.127.0.0.1_0.ssl.versions.TLSv1.3') ?? 0) >= 1, 'TLS 1.3 between the two');
  const outboundStats = await statsMap(outbound.adminUrl(''));
  t.ok((outboundStats.get('cluster.peer.ssl.handshake') ?? 0) >= 1, 'the outbound cluster counted the handshake');
});
