// The waypoint chain istiod writes, with HBONE: a public listener's connection manager routes to
// `main_internal`, whose connection manager routes a service to its cluster of internal endpoints
// on `connect_originate`; there the original_dst listener filter restores the workload's address
// from the endpoint's metadata, and tcp_proxy with tunneling_config (hostname
// %DOWNSTREAM_LOCAL_ADDRESS%, as istiod's connect_originate) carries the bytes in an HTTP/2 CONNECT
// over mutual TLS (ALPN h2) through an ORIGINAL_DST cluster, to a ztunnel-like HBONE server written
// here that joins each CONNECT stream to the address it names. The cluster is istiod's
// connect_originate (HTTP/2 with allow_connect, mTLS with the workload's SAN, and
// original_dst_lb_config.upstream_port_override: the endpoint metadata names the workload's address,
// the tunnel's TCP connection goes to that IP on the HBONE port, as istiod's 15008). istiod also sets
// original_dst_lb_config.metadata_key (the waypoint override), which Legate refuses; it is left out.
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import t from 'tap';
import { TCP_PROXY_TYPE, bootstrap, httpListener, routes } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { certFiles, upstreamTls } from '../tls/support.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalHttpListener, serviceCluster } from './fixtures.ts';

const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

t.test('HBONE: a request through the waypoint reaches the workload inside an HTTP/2 CONNECT over mTLS', { skip: opensslMissing() }, async (t) => {
  const workload = await startUpstreamFor(t, 'workload-a');
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const ztunnelCert = ca.issue('ztunnel', ['URI:spiffe://cluster.local/ns/default/sa/workload-a']);
  const waypointCert = ca.issue('waypoint', ['URI:spiffe://cluster.local/ns/default/sa/waypoint']);

  // The workload side's HBONE server: mTLS, ALPN h2, each CONNECT joined to the workload.
  const authorities: string[] = [];
  const peers: string[] = [];
  const enableConnect: (boolean | undefined)[] = [];
  const hbone = http2.createSecureServer({ cert: ztunnelCert.cert, key: ztunnelCert.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] });
  const sessions: http2.ServerHttp2Session[] = [];
  hbone.on('session', (s: http2.ServerHttp2Session) => {
    sessions.push(s);
    s.on('error', () => {});
    s.once('remoteSettings', (settings) => enableConnect.push(settings.enableConnectProtocol));
    peers.push((s.socket as unknown as import('node:tls').TLSSocket).getPeerCertificate().subjectaltname ?? '');
  });
  hbone.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    authorities.push(headers[':authority'] as string);
    if (headers[':method'] !== 'CONNECT') {
      stream.respond({ ':status': 405 }, { endStream: true });
      return;
    }
    const [host, port] = (headers[':authority'] as string).split(':');
    const app = net.connect({ port: Number(port), host, allowHalfOpen: true }, () => {
      stream.respond({ ':status': 200 });
      stream.pipe(app);
      app.pipe(stream);
    });
    app.on('error', () => stream.close(http2.constants.NGHTTP2_CONNECT_ERROR));
  });
  await new Promise<void>((resolve) => hbone.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sessions) s.destroy();
    hbone.close();
  });
  const hbonePort = (hbone.address() as AddressInfo).port;

  const connectOriginate = {
    name: 'connect_originate',
    internal_listener: {},
    listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } }],
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: {
      '@type': TCP_PROXY_TYPE,
      stat_prefix: 'connect_originate',
      cluster: 'connect_originate',
      tunneling_config: { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%' },
    } }] }],
  };
  const connectOriginateCluster = {
    name: 'connect_originate',
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: '1s',
    original_dst_lb_config: { upstream_port_override: hbonePort },
    typed_extension_protocol_options: {
      [PROTOCOL_OPTIONS]: {
        '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`,
        common_http_protocol_options: { idle_timeout: '3600s' },
        explicit_http_config: { http2_protocol_options: { allow_connect: true } },
      },
    },
    transport_socket: upstreamTls({
      tls_certificates: [certFiles(waypointCert)],
      validation_context: { trusted_ca: { filename: ca.certFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/workload-a' } }] },
    }),
  };
  const legate = await startLegate(bootstrap(
    [
      httpListener('waypoint', routes([{ match: { prefix: '/' }, route: { cluster: 'main_internal' } }])),
      internalHttpListener('main_internal', 'svc-a'),
      connectOriginate,
    ],
    [internalCluster('main_internal', 'main_internal'), serviceCluster('svc-a', [`127.0.0.1:${workload.port}`]), connectOriginateCluster],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());

  const replies = await Promise.all([1, 2, 3].map((i) => nodeRequest(legate.url(`/a/${i}`, 'waypoint'))));
  t.same(replies.map((r) => r.status), [200, 200, 200]);
  t.same(replies.map((r) => JSON.parse(r.body)), [1, 2, 3].map((i) => ({ upstream: 'workload-a', path: `/a/${i}` })), "through the tunnel to svc-a's workload");
  t.same(new Set(authorities), new Set([`127.0.0.1:${workload.port}`]), "the CONNECT authority is the restored original destination, the workload's own port");
  t.equal(sessions.length, 1, 'one mTLS connection from the waypoint carries every tunnel');
  t.equal(sessions[0].alpnProtocol, 'h2');
  t.same(enableConnect, [true], "allow_connect: the waypoint's SETTINGS carry ENABLE_CONNECT_PROTOCOL");
  t.match(peers[0], /spiffe:\/\/cluster\.local\/ns\/default\/sa\/waypoint/, "the waypoint's certificate was presented");
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.connect_originate.upstream_cx_http2_total'), 1);
  t.equal(stats.get('cluster.connect_originate.upstream_rq_total'), authorities.length, 'one stream per tunnelled connection');
});
