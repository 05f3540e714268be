// envoy.config.listener.v3.Listener -> Listener, plus the route configs its HTTP connection
// managers carry inline.
import { indexPath, joinPath } from '../errors.ts';
import {
  CONNECTION_LIMIT_TYPE,
  HCM_TYPE,
  ISTIO_AUTHN_TYPE,
  ISTIO_PEER_METADATA_TYPE,
  ISTIO_STATS_TYPE,
  LISTENER_FILTER_TYPES,
  NETWORK_WASM_TYPE,
  TCP_METADATA_EXCHANGE_TYPE,
  NETWORK_EXT_AUTHZ_TYPE,
  NETWORK_RBAC_TYPE,
  NETWORK_SET_FILTER_STATE_TYPE,
  ORIGINAL_DST_TYPE,
  SET_INTERNAL_DST_ADDRESS_TYPE,
  TCP_PROXY_TYPE,
  TYPE_BY_FILTER_NAME,
} from '../extensions.ts';
import type { FilterChain, FilterChainMatch, FilterStateValue, IstioAuthnConfig, IstioStatsConfig, Listener, MetadataExchangeConfig, ListenerFilter, ListenerFilterPredicate, NetworkExtAuthzConfig, NetworkFilter, NetworkRbacConfig, PeerMetadataConfig, RouteConfig } from '../model.ts';
import { bool, cidrRange, list, ms, num, obj, recordPath, reject, socketAddress, str, strings } from './common.ts';
import type { Raw, TranslateContext } from './common.ts';
import { DEFAULT_BUFFER_LIMIT_BYTES, translateHttpConnectionManager } from './http-connection-manager.ts';
import { networkExtAuthzConfig } from './ext-authz.ts';
import { istioAuthnConfig, istioStatsConfig, metadataExchangeConfig } from './istio.ts';
import { nullVmNetworkStats } from './wasm.ts';
import { networkRbacConfig } from './rbac.ts';
import { filterStateValues } from './set-filter-state.ts';
import { translateTcpProxy } from './tcp-proxy.ts';
import { checkNamedChains, filterChainMatcher } from './filter-chain-matcher.ts';
import { downstreamTransportSocket } from './transport-socket.ts';

export interface TranslatedListener {
  listener: Listener;
  routeConfigs: RouteConfig[]; // inline route configs, under the names their HCMs point to
}


export function translateListenerResource(raw: Raw, path: string, ctx: TranslateContext): TranslatedListener {
  const internal = raw.internal_listener !== undefined;
  if (internal && str(raw, 'name') === '') reject(joinPath(path, 'name'), 'required field is missing', 'an internal listener is found by its name: give it one');
  if (internal && raw.address !== undefined) reject(joinPath(path, 'address'), 'an internal listener has no address', 'remove address (endpoints reach the listener by envoy_internal_address.server_listener_name)');
  // Envoy's address of an internal listener: envoy://<name>/ (port 0; nothing is bound).
  const address = internal ? { address: `envoy://${str(raw, 'name')}/`, port: 0 } : socketAddress(obj(raw, 'address'), joinPath(path, 'address'));
  if (raw.transparent === true) reject(joinPath(path, 'transparent'), 'transparent (TPROXY) listeners are not supported by Legate', 'capture with REDIRECT/DNAT rules and use_original_dst instead');
  const name = str(raw, 'name') || `${address.address}_${address.port}`;
  const routeConfigs: RouteConfig[] = [];
  const built = { connectionLimit: undefined as number | undefined };

  const chain = (chainRaw: Raw, chainPath: string, label: string): FilterChain => {
    const filterChain = translateFilterChain(chainRaw, chainPath, ctx, `inline:${name}:${label}`, routeConfigs, built);
    return recordPath(filterChain, chainPath);
  };
  const chainsPath = joinPath(path, 'filter_chains');
  const matcherRaw = obj(raw, 'filter_chain_matcher');
  const rawChains = list(raw, 'filter_chains');
  // With a filter_chain_matcher Envoy ignores each chain's filter_chain_match (not even checked).
  const filterChains = rawChains.map((c, i) => chain(matcherRaw === undefined ? c : { ...c, filter_chain_match: undefined }, indexPath(chainsPath, i), String(i)));
  const defaultRaw = obj(raw, 'default_filter_chain');
  const defaultFilterChain = defaultRaw === undefined ? undefined : chain(defaultRaw, joinPath(path, 'default_filter_chain'), 'default');
  if (filterChains.length === 0 && defaultFilterChain === undefined) {
    reject(chainsPath, 'the listener has no filter chains', 'add a filter chain with an http_connection_manager or tcp_proxy filter');
  }
  const matcherPath = joinPath(path, 'filter_chain_matcher');
  const matcher = matcherRaw === undefined ? undefined : filterChainMatcher(matcherRaw, matcherPath);
  if (matcher === undefined) checkDistinctMatches(filterChains, chainsPath);
  else ctx.warnings.push(...checkNamedChains(filterChains, matcher, chainsPath, matcherPath, rawChains));

  const listener: Listener = {
    name,
    address,
    bindToPort: !internal && bool(raw, 'bind_to_port', true),
    useOriginalDst: bool(raw, 'use_original_dst', false),
    listenerFilters: list(raw, 'listener_filters').map((f, i) => listenerFilter(f, indexPath(joinPath(path, 'listener_filters'), i), internal)),
    listenerFiltersTimeoutMs: ms(raw, 'listener_filters_timeout', 15_000),
    continueOnListenerFiltersTimeout: bool(raw, 'continue_on_listener_filters_timeout', false),
    filterChains,
    perConnectionBufferLimitBytes: num(raw, 'per_connection_buffer_limit_bytes', DEFAULT_BUFFER_LIMIT_BYTES),
    trafficDirection: str(raw, 'traffic_direction', 'UNSPECIFIED') as Listener['trafficDirection'],
  };
  if (defaultFilterChain !== undefined) listener.defaultFilterChain = defaultFilterChain;
  if (matcher !== undefined) listener.filterChainMatcher = matcher;
  // Connection managers and TCP proxies buffer up to the listener's per-connection limit.
  for (const c of [...filterChains, ...(defaultFilterChain === undefined ? [] : [defaultFilterChain])]) {
    c.network.bufferLimitBytes = listener.perConnectionBufferLimitBytes;
  }
  // Envoy names a connection manager's spans from its listener's direction: OUTBOUND is egress.
  if (listener.trafficDirection === 'OUTBOUND') {
    for (const c of [...filterChains, ...(defaultFilterChain === undefined ? [] : [defaultFilterChain])]) {
      if (c.network.kind === 'http_connection_manager' && c.network.tracing !== undefined) c.network.tracing.operationName = 'egress';
    }
  }
  if (built.connectionLimit !== undefined) listener.connectionLimit = built.connectionLimit;
  // istio.stats reports as source or destination by its listener's direction (the null-VM
  // plugin's root_id has set it already); the null-VM metadata exchange propagates by it.
  for (const c of [...filterChains, ...(defaultFilterChain === undefined ? [] : [defaultFilterChain])]) {
    if (c.network.kind === 'tcp_proxy' && c.network.istioStats !== undefined) withListenerDirection(c.network.istioStats, listener.trafficDirection);
    if (c.network.kind !== 'http_connection_manager') continue;
    for (const f of c.network.httpFilters) {
      if (f.type === ISTIO_STATS_TYPE) withListenerDirection(f.config as IstioStatsConfig, listener.trafficDirection);
      if (f.type === ISTIO_PEER_METADATA_TYPE) propagateByDirection(f.config as PeerMetadataConfig, listener.trafficDirection);
    }
  }
  if (internal) listener.internal = true;
  const statPrefix = str(raw, 'stat_prefix');
  if (statPrefix !== '') listener.statPrefix = statPrefix;
  if (raw.ignore_global_conn_limit === true) listener.ignoreGlobalConnLimit = true;
  if (raw.bypass_overload_manager === true) listener.bypassOverloadManager = true;
  if (raw.drain_type === 'MODIFY_ONLY') listener.drainType = 'MODIFY_ONLY';
  return { listener: recordPath(listener, path), routeConfigs };
}

function withListenerDirection(stats: IstioStatsConfig, direction: Listener['trafficDirection']): void {
  if (stats.trafficDirection === 'UNSPECIFIED') stats.trafficDirection = direction;
}

function propagateByDirection(config: PeerMetadataConfig, direction: Listener['trafficDirection']): void {
  if (config.propagationByListenerDirection !== true) return;
  if (direction === 'INBOUND') config.upstreamPropagation = undefined;
  if (direction === 'OUTBOUND') config.downstreamPropagation = undefined;
  delete config.propagationByListenerDirection;
}

function listenerFilter(raw: Raw, path: string, internal: boolean): ListenerFilter {
  const name = str(raw, 'name');
  const type = (obj(raw, 'typed_config')?.['@type'] as string | undefined) ?? TYPE_BY_FILTER_NAME[name];
  if (type === undefined || !LISTENER_FILTER_TYPES.includes(type)) {
    reject(joinPath(path, 'typed_config'), `listener filter '${name}' needs a typed_config`, `use one of ${LISTENER_FILTER_TYPES.join(', ')}`);
  }
  if (type === SET_INTERNAL_DST_ADDRESS_TYPE) {
    // It reads what an internal connection was passed: a listener with a socket has none.
    if (!internal) reject(joinPath(path, 'typed_config'), `not supported by Legate: ${type} on a listener that is not internal`, 'use it on an internal_listener, or use original_dst');
    const field = Object.keys(obj(raw, 'typed_config') ?? {}).find((k) => k !== '@type');
    if (field !== undefined) reject(joinPath(path, `typed_config.${field}`), `unknown field '${field}' of ${type}, which has none`, 'remove it');
  }
  const filter: ListenerFilter = { name, type };
  const disabled = obj(raw, 'filter_disabled');
  if (disabled !== undefined) {
    // The original destination decides the connection's port, so it cannot be skipped by port.
    if (type === ORIGINAL_DST_TYPE) reject(joinPath(path, 'filter_disabled'), 'not supported by Legate: filter_disabled on original_dst', 'remove filter_disabled, or use separate listeners');
    filter.disabled = filterPredicate(disabled, joinPath(path, 'filter_disabled'));
  }
  return filter;
}

function filterPredicate(raw: Raw, path: string): ListenerFilterPredicate {
  const rules = (key: string) => list(obj(raw, key) ?? {}, 'rules').map((r, i) => filterPredicate(r, indexPath(joinPath(path, `${key}.rules`), i)));
  if (raw.or_match !== undefined) return { kind: 'or', rules: rules('or_match') };
  if (raw.and_match !== undefined) return { kind: 'and', rules: rules('and_match') };
  if (raw.not_match !== undefined) return { kind: 'not', rule: filterPredicate(obj(raw, 'not_match')!, joinPath(path, 'not_match')) };
  if (raw.any_match === true) return { kind: 'any' };
  const range = obj(raw, 'destination_port_range');
  if (range !== undefined) return { kind: 'ports', start: num(range, 'start', 0), end: num(range, 'end', 0) };
  return reject(path, 'the predicate names no rule', 'set any_match, destination_port_range, or_match, and_match or not_match');
}

function translateFilterChain(
  raw: Raw,
  path: string,
  ctx: TranslateContext,
  inlineName: string,
  routeConfigs: RouteConfig[],
  built: { connectionLimit: number | undefined },
): FilterChain {
  const filtersPath = joinPath(path, 'filters');
  const filters = list(raw, 'filters');
  if (filters.length === 0) reject(filtersPath, 'the filter chain has no filters', 'add an http_connection_manager or tcp_proxy filter');
  let network: NetworkFilter | undefined;
  const istio: { metadataExchange?: MetadataExchangeConfig; istioStats?: IstioStatsConfig; path?: string } = {};
  const rbac: NetworkRbacConfig[] = [];
  const extAuthz: NetworkExtAuthzConfig[] = [];
  let authn: IstioAuthnConfig | undefined;
  const setFilterState: FilterStateValue[] = [];
  filters.forEach((filter, i) => {
    const filterPath = indexPath(filtersPath, i);
    const config = obj(filter, 'typed_config');
    const configPath = joinPath(filterPath, 'typed_config');
    if (config === undefined) reject(configPath, `network filter '${str(filter, 'name')}' needs a typed_config`, `use one of ${HCM_TYPE}, ${TCP_PROXY_TYPE}`);
    const type = config['@type'];
    if (network !== undefined) {
      reject(filterPath, 'no filter may follow the terminal filter (http_connection_manager or tcp_proxy)', 'make it the last filter of the chain');
    }
    if (type === CONNECTION_LIMIT_TYPE) {
      const max = num(config, 'max_connections', 0);
      built.connectionLimit = built.connectionLimit === undefined ? max : Math.min(built.connectionLimit, max);
    } else if (type === NETWORK_RBAC_TYPE) {
      rbac.push(networkRbacConfig(config, configPath));
    } else if (type === NETWORK_SET_FILTER_STATE_TYPE) {
      setFilterState.push(...filterStateValues(config, 'on_new_connection', configPath));
    } else if (type === NETWORK_EXT_AUTHZ_TYPE) {
      extAuthz.push(networkExtAuthzConfig(config, configPath));
    } else if (type === TCP_METADATA_EXCHANGE_TYPE) {
      istio.metadataExchange = metadataExchangeConfig(config, configPath, ctx);
      istio.path ??= filterPath;
    } else if (type === ISTIO_STATS_TYPE) {
      istio.istioStats = istioStatsConfig(config, configPath, ctx);
      istio.path ??= filterPath;
    } else if (type === ISTIO_AUTHN_TYPE) {
      authn = istioAuthnConfig(config, configPath, ctx);
    } else if (type === NETWORK_WASM_TYPE) {
      istio.istioStats = nullVmNetworkStats(config, configPath, ctx);
      istio.path ??= filterPath;
    } else if (type === HCM_TYPE) {
      const { hcm, routeConfig } = translateHttpConnectionManager(config, configPath, ctx, inlineName);
      if (routeConfig !== undefined) routeConfigs.push(routeConfig);
      network = recordPath(hcm, configPath);
    } else {
      network = recordPath(translateTcpProxy(config, configPath), configPath);
    }
  });
  if (network === undefined) {
    return reject(filtersPath, 'the filter chain has no terminal filter', 'end it with an http_connection_manager or tcp_proxy filter');
  }
  if (istio.path !== undefined) {
    if (network.kind === 'tcp_proxy') {
      if (istio.metadataExchange !== undefined) network.metadataExchange = istio.metadataExchange;
      if (istio.istioStats !== undefined) network.istioStats = istio.istioStats;
    } else {
      // Before a connection manager only the exchange runs (its peer is the HTTP stats' downstream
      // peer); Istio's TCP stats count the bytes tcp_proxy relays, an HTTP chain uses the HTTP ones.
      if (istio.istioStats !== undefined) reject(istio.path, "Istio's network istio.stats runs before tcp_proxy only", 'use the HTTP filter of the same name in the connection manager');
      if (istio.metadataExchange?.enableDiscovery === true) {
        reject(istio.path, 'not supported by Legate: enable_discovery of the network istio.metadata_exchange before an http_connection_manager', "remove it, or use the HTTP istio.metadata_exchange's workload_discovery");
      }
      network.metadataExchange = istio.metadataExchange;
    }
  }
  const filterChain: FilterChain = {
    name: str(raw, 'name'),
    match: filterChainMatch(obj(raw, 'filter_chain_match') ?? {}, joinPath(path, 'filter_chain_match')),
    network,
  };
  const tls = downstreamTransportSocket(obj(raw, 'transport_socket'), joinPath(path, 'transport_socket'), ctx);
  if (tls !== undefined) {
    // A connection manager with codec_type HTTP1 cannot serve h2: offering it in ALPN would have
    // clients pick a protocol it does not speak, so h2 is left out (they fall back to HTTP/1.1).
    if (network.kind === 'http_connection_manager' && network.codecType === 'HTTP1' && tls.alpnProtocols.includes('h2')) {
      tls.alpnProtocols = tls.alpnProtocols.filter((p) => p !== 'h2');
      ctx.warnings.push(`${joinPath(path, 'transport_socket.typed_config.common_tls_context.alpn_protocols')}: 'h2' is not offered, the HTTP connection manager's codec_type is HTTP1`);
    }
    filterChain.tls = tls;
  }
  if (rbac.length > 0) filterChain.rbac = rbac;
  if (authn !== undefined) filterChain.istioAuthn = authn;
  if (setFilterState.length > 0) filterChain.setFilterState = setFilterState;
  if (extAuthz.length > 0) filterChain.extAuthz = extAuthz;
  if (raw.transport_socket_connect_timeout !== undefined) filterChain.transportSocketConnectTimeoutMs = ms(raw, 'transport_socket_connect_timeout', 0);
  return filterChain;
}

function filterChainMatch(raw: Raw, path: string): FilterChainMatch {
  const cidrs = (key: string) => list(raw, key).map((c, i) => cidrRange(c, indexPath(joinPath(path, key), i)));
  const serverNames = strings(raw, 'server_names').map((n, i) => {
    const name = n.toLowerCase();
    if (name.includes('*') && !(name.startsWith('*.') && !name.slice(1).includes('*'))) {
      reject(indexPath(joinPath(path, 'server_names'), i), `partial wildcard '${n}' in server_names`, 'only a leading "*." wildcard is supported, e.g. *.example.com');
    }
    return name;
  });
  const match: FilterChainMatch = {
    prefixRanges: cidrs('prefix_ranges'),
    directSourcePrefixRanges: cidrs('direct_source_prefix_ranges'),
    sourceType: str(raw, 'source_type', 'ANY') as FilterChainMatch['sourceType'],
    sourcePrefixRanges: cidrs('source_prefix_ranges'),
    sourcePorts: (raw.source_ports as number[] | undefined) ?? [],
    serverNames,
    applicationProtocols: strings(raw, 'application_protocols'),
  };
  if (raw.destination_port !== undefined) match.destinationPort = num(raw, 'destination_port', 0);
  if (raw.transport_protocol !== undefined) match.transportProtocol = str(raw, 'transport_protocol');
  return match;
}

// Envoy refuses two filter chains that match exactly the same connections.
function checkDistinctMatches(chains: FilterChain[], path: string): void {
  const seen = new Map<string, number>();
  chains.forEach((chain, i) => {
    const key = JSON.stringify(chain.match, (_k, v: unknown) => (Array.isArray(v) ? [...v].map((x) => JSON.stringify(x)).sort() : v));
    const first = seen.get(key);
    if (first !== undefined) {
      reject(joinPath(indexPath(path, i), 'filter_chain_match'), `filter chain ${i} has the same filter_chain_match as filter chain ${first}`, 'make the matches differ or merge the chains');
    }
    seen.set(key, i);
  });
}
