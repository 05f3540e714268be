// Envoy's Wasm filters (envoy.extensions.filters.{http,network}.wasm.v3.Wasm) as istiod sent them
// before Istio's filters were native: runtime envoy.wasm.runtime.null, whose "code" is the name of
// a plugin compiled into Istio's proxy. Such a plugin is native code, so Legate maps the two istiod
// used onto its own native filters: envoy.wasm.metadata_exchange (HTTP; until Istio 1.20) onto
// istio.metadata_exchange, envoy.wasm.stats (HTTP and TCP; until 1.17) onto istio.stats. Their
// `configuration` is the JSON the plugin parsed (a google.protobuf.StringValue), or the empty
// MetadataExchange istiod packed from 1.9 on (Envoy hands a non-string message to the plugin as
// bytes, which the plugin ignores). A real VM (v8, wamr, wasmtime...) or any other plugin is refused.
import { joinPath } from '../errors.ts';
import { ISTIO_PEER_METADATA_TYPE, ISTIO_STATS_TYPE, TCP_METADATA_EXCHANGE_TYPE } from '../extensions.ts';
import type { IstioStatsConfig, PeerMetadataConfig } from '../model.ts';
import { obj, reject, str, type Raw, type TranslateContext } from './common.ts';
import { istioStatsConfig } from './istio.ts';

const NULL_VM = 'envoy.wasm.runtime.null';
const METADATA_EXCHANGE_PLUGIN = 'envoy.wasm.metadata_exchange';
const STATS_PLUGIN = 'envoy.wasm.stats';
// The stats plugin registered two root contexts: the one named decides the reporter.
const STATS_ROOTS: Record<string, IstioStatsConfig['trafficDirection']> = { stats_outbound: 'OUTBOUND', stats_inbound: 'INBOUND' };

export type NullVmFilter =
  | { type: typeof ISTIO_PEER_METADATA_TYPE; config: PeerMetadataConfig }
  | { type: typeof ISTIO_STATS_TYPE; config: IstioStatsConfig };

function checkFields(raw: Raw, path: string, type: string, supported: string[]): void {
  for (const field of Object.keys(raw)) {
    if (field !== '@type' && !supported.includes(field)) reject(joinPath(path, field), `field '${field}' of ${type} is not supported by Legate`, 'remove it; see proxy/http/filters/istio/README.md (null-VM Wasm)');
  }
}

/** The plugin a Wasm filter's PluginConfig names, checked: only Istio's null-VM plugins run. */
function nullVmPlugin(wasm: Raw, path: string): { plugin: string; rootId: string; config: Raw; path: string } {
  checkFields(wasm, path, 'Wasm', ['config']);
  const configPath = joinPath(path, 'config');
  const config = obj(wasm, 'config');
  if (config === undefined) return reject(configPath, 'required field is missing', 'give the plugin config (vm_config and configuration)');
  // name only labels the plugin in Envoy's logs; fail_open matters when a VM fails, which a native filter does not.
  checkFields(config, configPath, 'PluginConfig', ['name', 'root_id', 'vm_config', 'configuration', 'fail_open']);
  const vmPath = joinPath(configPath, 'vm_config');
  const vm = obj(config, 'vm_config');
  if (vm === undefined) return reject(vmPath, 'required field is missing', `Legate runs Istio's null-VM plugins only: give vm_config with runtime ${NULL_VM}`);
  const runtime = str(vm, 'runtime');
  const plugin = str(obj(obj(vm, 'code') ?? {}, 'local') ?? {}, 'inline_string');
  const named = plugin === '' ? '(none)' : `'${plugin}'`;
  if (runtime !== NULL_VM) {
    reject(joinPath(vmPath, 'runtime'), `not supported by Legate: Wasm runtime '${runtime}' (plugin ${named}); Legate runs no Wasm VM`, `only Istio's null-VM plugins ${METADATA_EXCHANGE_PLUGIN} and ${STATS_PLUGIN} run, natively`);
  }
  // vm_id and allow_precompiled choose how a VM is shared and loaded: a native plugin has no VM.
  checkFields(vm, vmPath, 'VmConfig', ['vm_id', 'runtime', 'code', 'allow_precompiled']);
  checkFields(obj(vm, 'code') ?? {}, joinPath(vmPath, 'code'), 'AsyncDataSource', ['local']);
  checkFields(obj(obj(vm, 'code') ?? {}, 'local') ?? {}, joinPath(vmPath, 'code.local'), 'DataSource', ['inline_string']);
  if (plugin !== METADATA_EXCHANGE_PLUGIN && plugin !== STATS_PLUGIN) {
    reject(joinPath(vmPath, 'code.local.inline_string'), `not supported by Legate: null-VM Wasm plugin ${named}`, `only Istio's ${METADATA_EXCHANGE_PLUGIN} and ${STATS_PLUGIN} run (natively, as istio.metadata_exchange and istio.stats)`);
  }
  return { plugin, rootId: str(config, 'root_id'), config, path: configPath };
}

// The plugin's configuration as the JSON object it parsed: a StringValue's text; the packed
// MetadataExchange istiod sent is bytes the plugin did not read, so only an empty one is taken.
function pluginJson(config: Raw, path: string): Raw {
  const at = joinPath(path, 'configuration');
  const configuration = obj(config, 'configuration');
  if (configuration === undefined) return {};
  const type = configuration['@type'];
  if (type === TCP_METADATA_EXCHANGE_TYPE) {
    checkFields(configuration, at, TCP_METADATA_EXCHANGE_TYPE, []);
    return {};
  }
  if (type !== 'google.protobuf.StringValue') return reject(at, `a null-VM plugin's configuration of type '${String(type)}' is not supported by Legate`, 'give its JSON in a google.protobuf.StringValue');
  const text = str(configuration, 'value');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return reject(joinPath(at, 'value'), `the plugin's configuration is not JSON: ${(err as Error).message}`, 'give a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reject(joinPath(at, 'value'), "the plugin's configuration is not a JSON object", 'give a JSON object');
  return parsed as Raw;
}

/** An HTTP Wasm filter: Istio's null-VM metadata exchange or stats plugin, as the native filter. */
export function nullVmHttpFilter(wasm: Raw, path: string, ctx: TranslateContext): NullVmFilter {
  const { plugin, rootId, config, path: configPath } = nullVmPlugin(wasm, path);
  const json = pluginJson(config, configPath);
  const jsonPath = joinPath(configPath, 'configuration.value');
  if (plugin === METADATA_EXCHANGE_PLUGIN) {
    if (rootId !== '') reject(joinPath(configPath, 'root_id'), `the ${METADATA_EXCHANGE_PLUGIN} plugin has no root context '${rootId}'`, 'remove root_id');
    checkFields(json, jsonPath, `the ${METADATA_EXCHANGE_PLUGIN} configuration`, ['max_peer_cache_size']);
    if (json.max_peer_cache_size !== undefined) ctx.warnings.push(`${joinPath(jsonPath, 'max_peer_cache_size')}: ignored by Legate (its cache of decoded peers has a fixed size)`);
    return { type: ISTIO_PEER_METADATA_TYPE, config: legacyPeerMetadata() };
  }
  return { type: ISTIO_STATS_TYPE, config: statsFromJson(json, rootId, configPath, ctx) };
}

/** A network Wasm filter: the null-VM stats plugin, as istio.stats before tcp_proxy. */
export function nullVmNetworkStats(wasm: Raw, path: string, ctx: TranslateContext): IstioStatsConfig {
  const { plugin, rootId, config, path: configPath } = nullVmPlugin(wasm, path);
  if (plugin !== STATS_PLUGIN) {
    reject(joinPath(configPath, 'vm_config.code.local.inline_string'), `not supported by Legate: null-VM Wasm plugin '${plugin}' as a network filter`, `Istio's TCP metadata exchange is envoy.tcp.metadataexchange.config.MetadataExchange; only ${STATS_PLUGIN} runs here`);
  }
  return statsFromJson(pluginJson(config, configPath), rootId, configPath, ctx);
}

// The plugin read its headers on both sides and sent this proxy's on requests unless inbound and
// on responses unless outbound: the listener's direction settles that (translate/listener.ts).
function legacyPeerMetadata(): PeerMetadataConfig {
  return {
    downstreamDiscovery: ['istio_headers'],
    upstreamDiscovery: ['istio_headers'],
    downstreamPropagation: { skipExternalClusters: false },
    upstreamPropagation: { skipExternalClusters: false },
    additionalLabels: [],
    propagationByListenerDirection: true,
  };
}

const DEFAULT_SEPARATORS: Record<string, string> = { field_separator: ';.;', value_separator: '=.=' };

// The null-VM stats plugin's JSON: the fields it read, with istio.stats' checks. Its reporter
// came from the root context (stats_outbound: source), not from the listener.
function statsFromJson(json: Raw, rootId: string, path: string, ctx: TranslateContext): IstioStatsConfig {
  const direction = STATS_ROOTS[rootId];
  if (direction === undefined) reject(joinPath(path, 'root_id'), `the ${STATS_PLUGIN} plugin has no root context '${rootId}'`, `use ${Object.keys(STATS_ROOTS).join(' or ')}`);
  const jsonPath = joinPath(path, 'configuration.value');
  const rest: Raw = {};
  for (const [field, value] of Object.entries(json)) {
    const at = joinPath(jsonPath, field);
    if (field in DEFAULT_SEPARATORS) {
      // They shaped Envoy's flat stat names; Legate's stats carry their tags, as with the defaults.
      if (value !== DEFAULT_SEPARATORS[field]) reject(at, `not supported by Legate: ${field} other than '${DEFAULT_SEPARATORS[field]}'`, 'remove it');
    } else if (field === 'debug' || field === 'stat_prefix' || field === 'max_peer_cache_size') {
      ctx.warnings.push(`${at}: ignored by Legate, as by Istio's stats plugin (its metrics are always istio_*)`);
    } else if (['disable_host_header_fallback', 'metrics', 'definitions', 'tcp_reporting_duration'].includes(field)) {
      rest[field] = field === 'metrics' && Array.isArray(value) ? value.map(withoutEmptyDimensions) : value;
    } else {
      reject(at, `field '${field}' of the ${STATS_PLUGIN} configuration is not supported by Legate`, 'remove it; see proxy/http/filters/istio/README.md (null-VM Wasm)');
    }
  }
  return { ...istioStatsConfig(rest, jsonPath, ctx), trafficDirection: direction! };
}

// istiod wrote an empty dimensions map for a metric whose tags it only removed.
function withoutEmptyDimensions(metric: unknown): unknown {
  if (typeof metric !== 'object' || metric === null) return metric;
  const { dimensions, ...rest } = metric as Raw;
  return typeof dimensions === 'object' && dimensions !== null && Object.keys(dimensions).length === 0 ? rest : metric;
}
