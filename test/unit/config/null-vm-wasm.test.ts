// Istio's null-VM Wasm filters translated onto the native ones: what each plugin config becomes
// in the model (the exchange's propagation by the listener's direction, the stats reporter by
// root_id), in the ADS form and in proto-loader's binary-Any form, and what is warned or refused.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, IstioStatsConfig, PeerMetadataConfig, TcpProxy } from '../../../proxy/config/model.ts';
import { envoyProtoRoot } from '../../../proxy/config/protos.ts';
import { anyFromJson, anyToJson } from '../../../xds-client/index.ts';
import { HCM_TYPE, ROUTER_TYPE, TCP_PROXY_TYPE, socketAddress } from '../../support/bootstrap.ts';

const T = 'type.googleapis.com/';
const ROUTES = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] };
const vm = (plugin: string, runtime = 'envoy.wasm.runtime.null') => ({ runtime, code: { local: { inline_string: plugin } } });
const json = (value: unknown) => ({ '@type': `${T}google.protobuf.StringValue`, value: typeof value === 'string' ? value : JSON.stringify(value) });
const httpWasm = (config: object) => ({ name: 'istio.wasm', typed_config: { '@type': `${T}envoy.extensions.filters.http.wasm.v3.Wasm`, config } });

function listener(direction: string, filters: object[]) {
  return {
    '@type': `${T}envoy.config.listener.v3.Listener`,
    name: 'l',
    address: socketAddress('127.0.0.1', 0),
    traffic_direction: direction,
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM_TYPE, stat_prefix: 'l', route_config: ROUTES, http_filters: [
      ...filters, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ] } }] }],
  };
}

const overAds = (resource: Record<string, unknown>) => {
  const { '@type': _type, ...fields } = anyToJson(anyFromJson(resource));
  return fields;
};

function protoLoaderForm(resource: Record<string, unknown>): Record<string, unknown> {
  const message = envoyProtoRoot().lookupType('envoy.config.listener.v3.Listener');
  const decoded = message.decode(Buffer.from(anyFromJson(resource).value));
  return message.toObject(decoded, { longs: String, enums: String, oneofs: true });
}

const httpFilters = (raw: Record<string, unknown>) => (translateListener(raw).listener.filterChains[0].network as HttpConnectionManager).httpFilters;
function refused(raw: Record<string, unknown>): string {
  try {
    translateListener(raw);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

const exchange = httpWasm({ vm_config: vm('envoy.wasm.metadata_exchange'), configuration: { '@type': `${T}envoy.tcp.metadataexchange.config.MetadataExchange` } });

t.test('the exchange: istio.metadata_exchange, propagating by the listener direction', async (t) => {
  const cases: [string, boolean, boolean][] = [['INBOUND', true, false], ['OUTBOUND', false, true], ['UNSPECIFIED', true, true]];
  for (const [direction, downstream, upstream] of cases) {
    for (const [form, raw] of [['over ADS', overAds(listener(direction, [exchange]))], ['proto-loader', protoLoaderForm(listener(direction, [exchange]))]] as const) {
      const [filter] = httpFilters(raw);
      t.equal(filter.type, 'io.istio.http.peer_metadata.Config', `${direction} ${form}`);
      const config = filter.config as PeerMetadataConfig;
      t.same({ d: config.downstreamDiscovery, u: config.upstreamDiscovery }, { d: ['istio_headers'], u: ['istio_headers'] }, 'reads both sides');
      t.equal(config.downstreamPropagation !== undefined, downstream, `${direction}: answers downstream`);
      t.equal(config.upstreamPropagation !== undefined, upstream, `${direction}: sends upstream`);
      t.notOk('propagationByListenerDirection' in config, 'the flag is settled');
    }
  }
});

t.test('the stats plugin: istio.stats, the reporter by root_id', async (t) => {
  const stats = (root: string, config: unknown) => httpWasm({ root_id: root, vm_config: { ...vm('envoy.wasm.stats'), vm_id: root }, configuration: json(config) });
  // An inbound root on an OUTBOUND listener still reports as destination, as the plugin did.
  const raw = overAds(listener('OUTBOUND', [stats('stats_inbound', { debug: 'false', stat_prefix: 'istio', disable_host_header_fallback: true, metrics: [{ name: 'request_bytes', drop: true, dimensions: {} }] })]));
  const { listener: translated, warnings } = translateListener(raw);
  const filter = (translated.filterChains[0].network as HttpConnectionManager).httpFilters[0];
  t.equal(filter.type, 'stats.PluginConfig');
  t.same(filter.config as IstioStatsConfig, { reporter: 'UNSPECIFIED', trafficDirection: 'INBOUND', disableHostHeaderFallback: true, metrics: [{ name: 'request_bytes', drop: true, tagsToRemove: [] }] });
  t.match(warnings, [/debug: ignored by Legate/, /stat_prefix: ignored by Legate/]);
  const outbound = httpFilters(overAds(listener('INBOUND', [stats('stats_outbound', '')])))[0].config as IstioStatsConfig;
  t.equal(outbound.trafficDirection, 'OUTBOUND', 'stats_outbound reports as source whatever the listener');

  const tcp = translateListener(overAds({
    ...listener('INBOUND', []),
    filter_chains: [{ filters: [
      { name: 'istio.stats', typed_config: { '@type': `${T}envoy.extensions.filters.network.wasm.v3.Wasm`, config: { root_id: 'stats_inbound', vm_config: vm('envoy.wasm.stats'), configuration: json({ field_separator: ';.;', value_separator: '=.=' }) } } },
      { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 't', cluster: 'c' } },
    ] }],
  })).listener.filterChains[0].network as TcpProxy;
  t.match(tcp.istioStats, { trafficDirection: 'INBOUND', metrics: [] }, 'the network plugin before tcp_proxy; the default separators pass');
});

t.test('what is refused, by name', async (t) => {
  const http = (config: object) => overAds(listener('OUTBOUND', [httpWasm(config)]));
  t.match(refused(http({ vm_config: vm('', 'envoy.wasm.runtime.wamr') })), /runtime: not supported by Legate: Wasm runtime 'envoy\.wasm\.runtime\.wamr' \(plugin \(none\)\)/);
  t.match(refused(http({ vm_config: vm('envoy.wasm.attributegen') })), /null-VM Wasm plugin 'envoy\.wasm\.attributegen'/);
  t.match(refused(http({ vm_config: { ...vm('envoy.wasm.stats'), environment_variables: { key_values: { a: 'b' } } }, root_id: 'stats_inbound' })), /environment_variables' of VmConfig is not supported by Legate/);
  t.match(refused(http({ root_id: 'stats_sideways', vm_config: vm('envoy.wasm.stats') })), /root_id: the envoy\.wasm\.stats plugin has no root context 'stats_sideways'/);
  t.match(refused(http({ root_id: 'mx', vm_config: vm('envoy.wasm.metadata_exchange') })), /root_id: the envoy\.wasm\.metadata_exchange plugin has no root context 'mx'/);
  t.match(refused(http({ vm_config: vm('envoy.wasm.metadata_exchange'), configuration: { '@type': `${T}envoy.tcp.metadataexchange.config.MetadataExchange`, protocol: 'x' } })), /protocol' of envoy\.tcp\.metadataexchange\.config\.MetadataExchange is not supported/);
  t.match(refused(http({ vm_config: vm('envoy.wasm.metadata_exchange'), configuration: json('{not json') })), /configuration\.value: the plugin's configuration is not JSON/);
  t.match(refused(http({ root_id: 'stats_inbound', vm_config: vm('envoy.wasm.stats'), configuration: json({ reporter: 'SERVER_GATEWAY' }) })), /field 'reporter' of the envoy\.wasm\.stats configuration is not supported by Legate/);
  t.match(refused(overAds({
    ...listener('INBOUND', []),
    filter_chains: [{ filters: [
      { name: 'mx', typed_config: { '@type': `${T}envoy.extensions.filters.network.wasm.v3.Wasm`, config: { vm_config: vm('envoy.wasm.metadata_exchange') } } },
      { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 't', cluster: 'c' } },
    ] }],
  })), /null-VM Wasm plugin 'envoy\.wasm\.metadata_exchange' as a network filter/);
});
