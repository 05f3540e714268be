// envoy.filters.http.compressor as Legate translates it: Envoy's defaults, each library's fields
// in node:zlib's terms, the deprecated top-level fields, what is refused by name, and the shape of
// the Prometheus listener every Istio sidecar bootstrap carries (three compressors before the router).
import t from 'tap';
import { translateBootstrap, translateListener, translateRouteConfiguration } from '../../../proxy/config/index.ts';
import type { CompressorConfig, HttpConnectionManager } from '../../../proxy/config/model.ts';
import { bootstrap, httpListener, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';

const TYPE = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor';
const LIBRARY = {
  gzip: 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip',
  brotli: 'type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli',
  zstd: 'type.googleapis.com/envoy.extensions.compression.zstd.compressor.v3.Zstd',
};
const ROUTES = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] };
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };

function filter(config: object) {
  return { name: 'envoy.filters.http.compressor', typed_config: { '@type': TYPE, ...config } };
}

function compressors(filters: object[]): CompressorConfig[] {
  const hcm = translateListener(httpListener('l', ROUTES, { http_filters: [...filters, router] })).listener.filterChains[0].network as HttpConnectionManager;
  return hcm.httpFilters.slice(0, -1).map((f) => f.config as CompressorConfig);
}

const library = (kind: keyof typeof LIBRARY, fields: object = {}) => ({ compressor_library: { name: 'lib', typed_config: { '@type': LIBRARY[kind], ...fields } } });

function rejection(config: object): string {
  try {
    compressors([filter(config)]);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

t.test("Envoy's defaults", async (t) => {
  const [gzip] = compressors([filter(library('gzip'))]);
  t.same(gzip.library, { kind: 'gzip', level: -1, strategy: 0, memoryLevel: 5, windowBits: 12, chunkSize: 4096 });
  t.equal(gzip.libraryName, 'lib');
  t.equal(gzip.chooseFirst, false);
  t.equal(gzip.response.enabled, true);
  t.equal(gzip.response.minContentLength, 30);
  t.equal(gzip.response.statsUnder, '', 'without response_direction_config the stats sit at the library root');
  t.ok(gzip.response.contentTypes.includes('application/json') && gzip.response.contentTypes.includes('image/svg+xml'), "Envoy's default content types");
  const [br] = compressors([filter(library('brotli'))]);
  t.same(br.library, { kind: 'brotli', quality: 3, windowBits: 18, inputBlockBits: 24, mode: 0, disableLiteralContextModeling: false, chunkSize: 4096 });
  const [zstd] = compressors([filter(library('zstd'))]);
  t.same(zstd.library, { kind: 'zstd', level: 3, strategy: 0, checksum: false, chunkSize: 4096 });
});

t.test("each library's fields in node:zlib's terms", async (t) => {
  const [gzip] = compressors([filter(library('gzip', { compression_level: 'BEST_SPEED', compression_strategy: 'RLE', memory_level: 9, window_bits: 15, chunk_size: 8192 }))]);
  t.same(gzip.library, { kind: 'gzip', level: 1, strategy: 3, memoryLevel: 9, windowBits: 15, chunkSize: 8192 });
  const [best] = compressors([filter(library('gzip', { compression_level: 'COMPRESSION_LEVEL_9' }))]);
  t.equal((best.library as { level: number }).level, 9);
  const [br] = compressors([filter(library('brotli', { quality: 11, encoder_mode: 'TEXT', window_bits: 22, input_block_bits: 16, disable_literal_context_modeling: true }))]);
  t.same(br.library, { kind: 'brotli', quality: 11, windowBits: 22, inputBlockBits: 16, mode: 1, disableLiteralContextModeling: true, chunkSize: 4096 });
  const [zstd] = compressors([filter(library('zstd', { compression_level: 19, strategy: 'BTULTRA2', enable_checksum: true }))]);
  t.same(zstd.library, { kind: 'zstd', level: 19, strategy: 9, checksum: true, chunkSize: 4096 });
});

t.test('response_direction_config, and the deprecated fields it replaces', async (t) => {
  const [c] = compressors([
    filter({
      ...library('gzip'),
      choose_first: true,
      response_direction_config: {
        common_config: { min_content_length: 100, content_type: ['Text/HTML'], enabled: { default_value: false, runtime_key: 'k' } },
        disable_on_etag_header: true,
        remove_accept_encoding_header: true,
      },
    }),
  ]);
  t.equal(c.chooseFirst, true);
  t.same(c.response, { enabled: false, enabledKey: 'k', minContentLength: 100, contentTypes: ['text/html'], disableOnEtagHeader: true, removeAcceptEncodingHeader: true, statsUnder: 'response.' });
  const [legacy] = compressors([filter({ ...library('gzip'), content_length: 50, content_type: ['text/css'], disable_on_etag_header: true, runtime_enabled: { default_value: false, runtime_key: 'k' } })]);
  t.same(legacy.response, { enabled: false, enabledKey: 'k', minContentLength: 50, contentTypes: ['text/css'], disableOnEtagHeader: true, removeAcceptEncodingHeader: false, statsUnder: '' });
});

t.test('request_direction_config: request bodies compressed unless its flag is off', async (t) => {
  t.equal(compressors([filter(library('gzip'))])[0].request, undefined, 'not without it');
  const [on] = compressors([filter({ ...library('gzip'), request_direction_config: {} })]);
  t.equal(on.request?.minContentLength, 30);
  t.ok(on.request?.contentTypes.includes('application/json'), "Envoy's default content types");
  const [tuned] = compressors([filter({ ...library('gzip'), request_direction_config: { common_config: { min_content_length: 1000, content_type: ['Application/X-Ndjson'] } } })]);
  t.same(tuned.request, { minContentLength: 1000, contentTypes: ['application/x-ndjson'] });
  const [off] = compressors([filter({ ...library('gzip'), request_direction_config: { common_config: { enabled: { default_value: false, runtime_key: 'k' } } } })]);
  t.match(off.request, { enabledKey: 'k', enabledByDefault: false }, 'enabled.default_value false: off unless the runtime key turns it on');
});

t.test('refused by name', async (t) => {
  t.match(rejection({}), /compressor_library: required field is missing/);
  t.match(rejection(library('zstd', { dictionary: { inline_string: 'abc' } })), /field 'dictionary' of envoy\.extensions\.compression\.zstd\.compressor\.v3\.Zstd is not supported by Legate/);
  t.match(rejection(library('zstd', { compression_level: 23 })), /compression_level 23 is above zstd's maximum, 22/);
  t.match(rejection({ compressor_library: { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } } }), /compressor library 'envoy\.extensions\.filters\.http\.router\.v3\.Router' is not supported by Legate/);
  t.match(rejection(library('gzip', { window_bits: 8 })), /window_bits/, "Envoy's ranges are checked");
  t.match(rejection({ ...library('gzip'), response_direction_config: {} }), 'accepted');
  t.match(
    rejection({ compressor_library: { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip' } } }),
    /compressor library 'envoy\.extensions\.compression\.gzip\.decompressor\.v3\.Gzip' is not supported by Legate/,
    'a decompressor library where a compressor belongs',
  );
});

t.test('CompressorPerRoute on a route', async (t) => {
  const perRoute = (config: object) => {
    const routes = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.compressor': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute', ...config } } }] }] };
    const { routeConfig } = translateRouteConfiguration(routes);
    return routeConfig.virtualHosts[0].routes[0].typedPerFilterConfig['envoy.filters.http.compressor'];
  };
  t.same(perRoute({ disabled: true }), { responseEnabled: false });
  t.same(perRoute({ overrides: { response_direction_config: {} } }), { responseEnabled: true }, 'an empty response_direction_config turns compression on');
  t.same(perRoute({ overrides: { response_direction_config: { remove_accept_encoding_header: true } } }), { responseEnabled: true, removeAcceptEncodingHeader: true });
  t.same(perRoute({ overrides: {} }), {});
});

// Istio's pilot-agent writes this listener into every sidecar's bootstrap: Prometheus scrapes the
// merged stats on 15090, compressed as the scraper asks (brotli first, then zstd, then gzip).
t.test("an Istio sidecar bootstrap's Prometheus listener translates", async (t) => {
  const prometheusTypes = ['text/plain', 'application/vnd.google.protobuf', 'application/openmetrics-text', 'application/openmetrics-protobuf'];
  const compressor = (kind: keyof typeof LIBRARY, message: string) => ({
    name: `envoy.filters.http.compressor.${kind}`,
    typed_config: {
      '@type': TYPE,
      compressor_library: { name: `stats_${kind}`, typed_config: { '@type': LIBRARY[kind].replace(/[A-Za-z]+$/, message) } },
      response_direction_config: { common_config: { content_type: prometheusTypes } },
    },
  });
  const prometheus = {
    name: '0.0.0.0_15090',
    address: { socket_address: { protocol: 'TCP', address: '0.0.0.0', port_value: 15090 } },
    ignore_global_conn_limit: true,
    bypass_overload_manager: true,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              codec_type: 'AUTO',
              stat_prefix: 'stats',
              route_config: { virtual_hosts: [{ name: 'backend', domains: ['*'], routes: [{ match: { prefix: '/stats/prometheus' }, route: { cluster: 'prometheus_stats' } }] }] },
              http_filters: [compressor('brotli', 'Brotli'), compressor('zstd', 'Zstd'), compressor('gzip', 'Gzip'), router],
            },
          },
        ],
      },
    ],
  };
  const config = translateBootstrap(bootstrap([prometheus], [staticCluster('prometheus_stats', [{ port: 15000 }])]));
  const hcm = config.listeners[0].filterChains[0].network as HttpConnectionManager;
  t.same(
    hcm.httpFilters.map((f) => [f.name, (f.config as CompressorConfig).library?.kind]),
    [
      ['envoy.filters.http.compressor.brotli', 'brotli'],
      ['envoy.filters.http.compressor.zstd', 'zstd'],
      ['envoy.filters.http.compressor.gzip', 'gzip'],
      ['envoy.filters.http.router', undefined],
    ],
  );
  for (const f of hcm.httpFilters.slice(0, 3)) {
    const c = f.config as CompressorConfig;
    t.same(c.response.contentTypes, prometheusTypes, `${f.name}: Prometheus content types`);
    t.equal(c.response.statsUnder, 'response.');
  }
});
