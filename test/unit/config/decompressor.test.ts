// envoy.filters.http.decompressor as Legate translates it: Envoy's defaults, each library's fields
// in node:zlib's terms, the direction configs with their runtime flags, and what is refused by name
// (zstd dictionaries, a library that is not a decompressor, per-route configs Envoy has none of).
import t from 'tap';
import { translateListener, translateRouteConfiguration } from '../../../proxy/config/index.ts';
import type { DecompressorConfig, HttpConnectionManager } from '../../../proxy/config/model.ts';
import { envoyProtoRoot } from '../../../proxy/config/protos.ts';
import { httpListener, ROUTER_TYPE } from '../../support/bootstrap.ts';

const TYPE = 'type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor';
const LIBRARY = {
  gzip: 'type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip',
  brotli: 'type.googleapis.com/envoy.extensions.compression.brotli.decompressor.v3.Brotli',
  zstd: 'type.googleapis.com/envoy.extensions.compression.zstd.decompressor.v3.Zstd',
};
const ROUTES = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] };
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };

const library = (kind: keyof typeof LIBRARY, fields: object = {}) => ({ decompressor_library: { name: 'up', typed_config: { '@type': LIBRARY[kind], ...fields } } });

function decompressor(config: object): DecompressorConfig {
  const filter = { name: 'envoy.filters.http.decompressor', typed_config: { '@type': TYPE, ...config } };
  const hcm = translateListener(httpListener('l', ROUTES, { http_filters: [filter, router] })).listener.filterChains[0].network as HttpConnectionManager;
  return hcm.httpFilters[0].config as DecompressorConfig;
}

function rejection(config: object): string {
  try {
    decompressor(config);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

t.test("Envoy's defaults: both directions on, accept-encoding advertised", async (t) => {
  const gzip = decompressor(library('gzip'));
  t.same(gzip, {
    libraryName: 'up',
    library: { kind: 'gzip', windowBits: 15, chunkSize: 4096, maxInflateRatio: 100 },
    request: { enabled: true, ignoreNoTransformHeader: false, advertiseAcceptEncoding: true },
    response: { enabled: true, ignoreNoTransformHeader: false },
  });
  t.same(decompressor(library('brotli')).library, { kind: 'brotli', disableRingBufferReallocation: false, chunkSize: 4096, maxInflateRatio: 100 });
  t.same(decompressor(library('zstd')).library, { kind: 'zstd', chunkSize: 131072, maxInflateRatio: 100 }, "zstd's output chunk is ZSTD_DStreamOutSize() unless given");
});

t.test("each library's fields", async (t) => {
  t.same(decompressor(library('gzip', { window_bits: 9, chunk_size: 65536, max_inflate_ratio: 1032 })).library, { kind: 'gzip', windowBits: 9, chunkSize: 65536, maxInflateRatio: 1032 });
  t.same(decompressor(library('brotli', { disable_ring_buffer_reallocation: true, chunk_size: 8192 })).library, { kind: 'brotli', disableRingBufferReallocation: true, chunkSize: 8192, maxInflateRatio: 100 });
  t.same(decompressor(library('zstd', { chunk_size: 16384 })).library, { kind: 'zstd', chunkSize: 16384, maxInflateRatio: 100 });
});

t.test('the direction configs', async (t) => {
  const c = decompressor({
    ...library('gzip'),
    request_direction_config: { common_config: { enabled: { default_value: false, runtime_key: 'req_on' }, ignore_no_transform_header: true }, advertise_accept_encoding: false },
    response_direction_config: { common_config: { enabled: { default_value: true, runtime_key: 'resp_on' } } },
  });
  t.same(c.request, { enabled: false, enabledKey: 'req_on', ignoreNoTransformHeader: true, advertiseAcceptEncoding: false });
  t.same(c.response, { enabled: true, enabledKey: 'resp_on', ignoreNoTransformHeader: false });
  // Envoy's docs: one filter per direction, the other turned off.
  const responsesOnly = decompressor({ ...library('gzip'), request_direction_config: { common_config: { enabled: { default_value: false, runtime_key: 'k' } } } });
  t.equal(responsesOnly.request.enabled, false);
  t.equal(responsesOnly.request.advertiseAcceptEncoding, true, 'advertising belongs to the request side but follows the response direction');
});

t.test('refused by name', async (t) => {
  t.match(rejection({}), /decompressor_library: required field is missing/);
  t.match(rejection(library('zstd', { dictionaries: [{ inline_string: 'abc' }] })), /field 'dictionaries' of envoy\.extensions\.compression\.zstd\.decompressor\.v3\.Zstd is not supported by Legate/);
  t.match(
    rejection({ decompressor_library: { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip' } } }),
    /decompressor library 'envoy\.extensions\.compression\.gzip\.compressor\.v3\.Gzip' is not supported by Legate/,
    'a compressor library where a decompressor belongs',
  );
  t.match(rejection(library('gzip', { window_bits: 8 })), /window_bits: 8 is out of range/, "Envoy's ranges are checked");
  t.match(rejection(library('gzip', { max_inflate_ratio: 2000 })), /max_inflate_ratio: 2000 is out of range \(must be at most 1032\)/);
  t.match(rejection(library('brotli', { chunk_size: 1024 })), /chunk_size: 1024 is out of range/);
  t.match(rejection(library('gzip', { unknown_field: 1 })), /unknown field 'unknown_field'/);
  t.match(rejection({ ...library('gzip'), request_direction_config: { advertise_accept_encoding: true, extra: 1 } }), /unknown field 'extra'/);
});

t.test('per route: FilterConfig disabled only (Envoy has no decompressor per-route config)', async (t) => {
  const perRoute = (config: object) => {
    const routes = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.decompressor': config } }] }] };
    try {
      return translateRouteConfiguration(routes).routeConfig.virtualHosts[0].routes[0].typedPerFilterConfig['envoy.filters.http.decompressor'];
    } catch (err) {
      return (err as Error).message;
    }
  };
  t.same(perRoute({ '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', disabled: true }), { disabled: true });
  t.match(perRoute({ '@type': TYPE, ...library('gzip') }), /type 'envoy\.extensions\.filters\.http\.decompressor\.v3\.Decompressor' is not accepted here/);
});

t.test('as an xDS server sends it: binary Anys for the filter and its library', async (t) => {
  const root = envoyProtoRoot();
  const encoded = (type: string, fields: object) => {
    const message = root.lookupType(type);
    return { type_url: `type.googleapis.com/${type}`, value: message.encode(message.fromObject(fields)).finish() };
  };
  const Listener = root.lookupType('envoy.config.listener.v3.Listener');
  const filter = encoded('envoy.extensions.filters.http.decompressor.v3.Decompressor', {
    decompressor_library: { name: 'bin', typed_config: encoded('envoy.extensions.compression.brotli.decompressor.v3.Brotli', { chunk_size: { value: 8192 } }) },
    request_direction_config: { advertise_accept_encoding: { value: false } },
  });
  const hcm = encoded('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
    stat_prefix: 'bin',
    route_config: ROUTES,
    http_filters: [{ name: 'envoy.filters.http.decompressor', typed_config: filter }, { name: 'envoy.filters.http.router', typed_config: encoded('envoy.extensions.filters.http.router.v3.Router', {}) }],
  });
  const message = Listener.fromObject({ name: 'bin', address: { socket_address: { address: '127.0.0.1', port_value: 9000 } }, filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm }] }] });
  const decoded = Listener.toObject(Listener.decode(Listener.encode(message).finish()), { longs: String, enums: String, oneofs: true });
  const network = translateListener(decoded, 'resources[0]').listener.filterChains[0].network as HttpConnectionManager;
  const config = network.httpFilters[0].config as DecompressorConfig;
  t.same(config.library, { kind: 'brotli', disableRingBufferReallocation: false, chunkSize: 8192, maxInflateRatio: 100 });
  t.equal(config.libraryName, 'bin');
  t.equal(config.request.advertiseAcceptEncoding, false);
});
