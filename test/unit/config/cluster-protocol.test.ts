// A cluster's upstream protocol as Envoy configures it: HttpProtocolOptions explicit_http_config,
// use_downstream_protocol_config and auto_config, the older http2_protocol_options and
// protocol_selection; the Http2ProtocolOptions fields the client uses; ALPN for each protocol; and
// what Legate rejects by name.
import t from 'tap';
import { translateCluster } from '../../../proxy/config/index.ts';
import { staticCluster } from '../../support/bootstrap.ts';

const OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

function withOptions(upstream: object, extra: object = {}) {
  return staticCluster('c', [{ port: 8080 }], { typed_extension_protocol_options: { [OPTIONS]: { '@type': `type.googleapis.com/${OPTIONS}`, ...upstream } }, ...extra });
}

function tls(alpn?: string[]) {
  return { transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM_TLS, common_tls_context: alpn === undefined ? {} : { alpn_protocols: alpn } } } };
}

function rejection(raw: object): string {
  try {
    translateCluster(raw);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

t.test('the protocol each form selects', async (t) => {
  t.equal(translateCluster(staticCluster('c', [{ port: 1 }])).cluster.upstreamProtocol, 'HTTP1');
  t.equal(translateCluster(withOptions({ explicit_http_config: { http_protocol_options: {} } })).cluster.upstreamProtocol, 'HTTP1');
  t.equal(translateCluster(withOptions({ explicit_http_config: { http2_protocol_options: {} } })).cluster.upstreamProtocol, 'HTTP2');
  t.equal(translateCluster(withOptions({ use_downstream_protocol_config: { http2_protocol_options: {} } })).cluster.upstreamProtocol, 'DOWNSTREAM');
  t.equal(translateCluster(withOptions({ auto_config: { http2_protocol_options: {} } }, tls())).cluster.upstreamProtocol, 'AUTO');
  t.equal(translateCluster(staticCluster('c', [{ port: 1 }], { http2_protocol_options: {} })).cluster.upstreamProtocol, 'HTTP2', 'the older cluster field');
  t.equal(translateCluster(staticCluster('c', [{ port: 1 }], { protocol_selection: 'USE_DOWNSTREAM_PROTOCOL', http2_protocol_options: {} })).cluster.upstreamProtocol, 'DOWNSTREAM');
});

t.test('http2_protocol_options: the client settings, with Envoy defaults and ranges', async (t) => {
  const defaults = translateCluster(withOptions({ explicit_http_config: { http2_protocol_options: {} } })).cluster.http2;
  t.match(defaults, { hpackTableSize: 4096, maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456 });
  const set = translateCluster(withOptions({ explicit_http_config: { http2_protocol_options: {
    hpack_table_size: 0, max_concurrent_streams: 16, initial_stream_window_size: 65535, initial_connection_window_size: 1048576,
  } } })).cluster.http2;
  t.match(set, { hpackTableSize: 0, maxConcurrentStreams: 16, initialStreamWindowSize: 65535, initialConnectionWindowSize: 1048576 });
  // istiod's HBONE clusters set it; the client advertises it in its SETTINGS, as Envoy does.
  t.match(translateCluster(withOptions({ explicit_http_config: { http2_protocol_options: { allow_connect: true } } })).cluster.http2, { allowConnect: true });
  t.match(rejection(withOptions({ explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 0 } } })), /max_concurrent_streams: 0 is out of range/);
});

t.test('what upstream HTTP/2 does not build is rejected by name', async (t) => {
  t.match(rejection(withOptions({ explicit_http_config: { http2_protocol_options: { connection_keepalive: { interval: '1s', timeout: '1s' } } } })), /connection_keepalive: not supported by Legate/);
  t.match(rejection(withOptions({ explicit_http_config: { http3_protocol_options: {} } })), /http3_protocol_options.*not supported by Legate/);
  t.match(rejection(withOptions({ auto_config: { http3_protocol_options: {} } }, tls())), /http3_protocol_options.*not supported by Legate/);
  t.match(rejection(withOptions({ auto_config: { alternate_protocols_cache_options: { name: 'x' } } }, tls())), /alternate_protocols_cache_options.*not supported by Legate/);
  t.match(rejection(withOptions({ auto_config: { http2_protocol_options: {} } })), /auto_config needs a TLS transport_socket/);
});

t.test('ALPN: h2 for HTTP/2, h2 and http/1.1 for auto_config, never h2 for HTTP/1.1', async (t) => {
  t.same(translateCluster(withOptions({ explicit_http_config: { http2_protocol_options: {} } }, tls())).cluster.tls!.alpnProtocols, ['h2']);
  t.same(translateCluster(withOptions({ explicit_http_config: { http2_protocol_options: {} } }, tls(['h2', 'http/1.1']))).cluster.tls!.alpnProtocols, ['h2', 'http/1.1'], 'a configured list is kept');
  t.same(translateCluster(withOptions({ auto_config: {} }, tls())).cluster.tls!.alpnProtocols, ['h2', 'http/1.1']);
  t.same(translateCluster(withOptions({ use_downstream_protocol_config: { http2_protocol_options: {} } }, tls())).cluster.tls!.alpnProtocols, [], 'each pool sets its own');
  const h1 = translateCluster(staticCluster('c', [{ port: 1 }], tls(['h2', 'http/1.1'])));
  t.same(h1.cluster.tls!.alpnProtocols, ['http/1.1']);
  t.match(h1.warnings.join('\n'), /'h2' is not offered/);
  t.notMatch(translateCluster(staticCluster('c', [{ port: 1 }], { http2_protocol_options: {}, ...tls(['h2']) })).warnings.join('\n'), /not offered/, 'no ALPN warning for an HTTP/2 cluster');
});
