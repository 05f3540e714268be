// The connection manager's codec_type and http2_protocol_options: Envoy's defaults, its ranges,
// the flood limits warned as ignored, and what is rejected by name.
import t from 'tap';
import { ConfigError, translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager } from '../../../proxy/config/model.ts';
import { HCM_TYPE, ROUTER_TYPE } from '../../support/bootstrap.ts';

function listener(hcm: object) {
  return {
    name: 'l',
    address: { socket_address: { address: '127.0.0.1', port_value: 8080 } },
    filter_chains: [{ filters: [{ name: 'hcm', typed_config: {
      '@type': HCM_TYPE, stat_prefix: 'in',
      route_config: { virtual_hosts: [{ name: 'a', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      ...hcm,
    } }] }],
  };
}

function hcmOf(hcm: object): { config: HttpConnectionManager; warnings: string[] } {
  const { listener: l, warnings } = translateListener(listener(hcm));
  return { config: l.filterChains[0].network as HttpConnectionManager, warnings };
}

t.test("Envoy's defaults", async (t) => {
  const { config } = hcmOf({});
  t.equal(config.codecType, 'AUTO');
  t.same(config.http2, { hpackTableSize: 4096, maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456, allowConnect: false });
});

t.test('the supported fields', async (t) => {
  const { config, warnings } = hcmOf({
    codec_type: 'HTTP2',
    http2_protocol_options: {
      hpack_table_size: 0, max_concurrent_streams: 100, initial_stream_window_size: 65536, initial_connection_window_size: 1048576, allow_connect: true,
      connection_keepalive: { interval: '30s', timeout: '5s' },
      max_outbound_frames: 5000,
    },
  });
  t.equal(config.codecType, 'HTTP2');
  t.same(config.http2, { hpackTableSize: 0, maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576, allowConnect: true, keepalive: { intervalMs: 30000, timeoutMs: 5000 } });
  t.match(warnings.join('\n'), /max_outbound_frames/, 'a flood limit is warned about as ignored');
});

t.test('rejected by name', async (t) => {
  const cases: [object, RegExp][] = [
    [{ codec_type: 'HTTP3' }, /codec_type: not supported by Legate: codec_type HTTP3/],
    [{ http2_protocol_options: { initial_stream_window_size: 100 } }, /initial_stream_window_size: 100 is out of range/],
    [{ http2_protocol_options: { max_concurrent_streams: 0 } }, /max_concurrent_streams: 0 is out of range/],
    [{ http2_protocol_options: { custom_settings_parameters: [{ identifier: 9, value: 1 }] } }, /custom_settings_parameters.*not supported by Legate/],
    [{ http2_protocol_options: { allow_metadata: true } }, /allow_metadata.*not supported by Legate/],
    [{ http2_protocol_options: { connection_keepalive: { interval: '1s' } } }, /connection_keepalive.timeout: required field is missing/],
  ];
  for (const [hcm, message] of cases) {
    t.throws(() => hcmOf(hcm), ConfigError);
    try {
      hcmOf(hcm);
    } catch (err) {
      t.match((err as Error).message, message);
    }
  }
});
