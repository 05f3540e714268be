// Istio's own filters as istiod configures them (and io.istio.network.authn, older istiods'): istio.metadata_exchange (HTTP:
// io.istio.http.peer_metadata.Config; TCP: envoy.tcp.metadataexchange.config.MetadataExchange), in a
// TypedStruct, and istio.stats (stats.PluginConfig, HTTP or TCP), packed. Whichever way they come
// (the packed ones are decoded by the .proto in envoy-api/protos), each field is checked here: the
// ones built, the ones ignored with a warning, and anything else refused by name.
import { indexPath, joinPath } from '../errors.ts';
import type { IstioAlpnConfig, IstioAuthnConfig, IstioStatsConfig, MetadataExchangeConfig, PeerDiscoveryMethod, PeerMetadataConfig } from '../model.ts';
import { bool, list, reject, str, strings, type Raw, type TranslateContext } from './common.ts';

export function checkFields(raw: Raw, path: string, type: string, supported: string[], ignored: string[], ctx: TranslateContext): void {
  for (const field of Object.keys(raw)) {
    if (field === '@type' || supported.includes(field)) continue;
    if (ignored.includes(field)) ctx.warnings.push(`${joinPath(path, field)}: ${type} field '${field}' is ignored by Legate`);
    else reject(joinPath(path, field), `field '${field}' of ${type} is not supported by Legate`, 'remove it; see proxy/istio/README.md');
  }
}

// A list of propagation methods: whether istio_headers is among them (and its options).
function propagation(raw: Raw, field: string, path: string, ctx: TranslateContext): { skipExternalClusters: boolean } | undefined {
  let found: { skipExternalClusters: boolean } | undefined;
  list(raw, field).forEach((method, i) => {
    const at = indexPath(joinPath(path, field), i);
    const kind = methodKind(method, at);
    if (kind !== 'istio_headers') reject(joinPath(at, kind), `peer metadata propagation method '${kind}' is not supported by Legate`, 'use istio_headers');
    const options = (method.istio_headers ?? {}) as Raw;
    checkFields(options, joinPath(at, kind), 'IstioHeaders', ['skip_external_clusters'], [], ctx);
    found = { skipExternalClusters: bool(options, 'skip_external_clusters', false) };
  });
  return found;
}

// A list of discovery methods, in order: Istio tries them until one finds the peer.
function discovery(raw: Raw, field: string, path: string, ctx: TranslateContext): PeerDiscoveryMethod[] {
  const found: PeerDiscoveryMethod[] = [];
  list(raw, field).forEach((method, i) => {
    const at = indexPath(joinPath(path, field), i);
    const kind = methodKind(method, at);
    const options = (method[kind] ?? {}) as Raw;
    if (kind === 'istio_headers') {
      // skip_external_clusters concerns propagation only.
      checkFields(options, joinPath(at, kind), 'IstioHeaders', [], ['skip_external_clusters'], ctx);
      found.push(kind);
    } else if (kind === 'workload_discovery') {
      checkFields(options, joinPath(at, kind), 'WorkloadDiscovery', [], [], ctx);
      found.push(kind);
    } else if (kind === 'baggage') {
      // Envoy goes on to the next method when one finds nothing; Legate reads no baggage header.
      ctx.warnings.push(`${joinPath(at, kind)}: peer discovery by baggage finds nothing in Legate; the other methods are used`);
    } else {
      reject(joinPath(at, kind), `peer metadata method '${kind}' is not supported by Legate`, 'use istio_headers or workload_discovery');
    }
  });
  return found;
}

function methodKind(method: Raw, at: string): string {
  const kinds = Object.keys(method);
  if (kinds.length !== 1) reject(at, 'a method names exactly one of istio_headers, workload_discovery, baggage', 'give one method per entry');
  return kinds[0];
}

export function peerMetadataConfig(raw: Raw, path: string, ctx: TranslateContext): PeerMetadataConfig {
  checkFields(raw, path, 'io.istio.http.peer_metadata.Config',
    ['downstream_discovery', 'upstream_discovery', 'downstream_propagation', 'upstream_propagation', 'additional_labels'], ['shared_with_upstream'], ctx);
  return {
    downstreamDiscovery: discovery(raw, 'downstream_discovery', path, ctx),
    upstreamDiscovery: discovery(raw, 'upstream_discovery', path, ctx),
    downstreamPropagation: propagation(raw, 'downstream_propagation', path, ctx),
    upstreamPropagation: propagation(raw, 'upstream_propagation', path, ctx),
    additionalLabels: strings(raw, 'additional_labels'),
  };
}

const STANDARD_METRICS = ['requests_total', 'request_duration_milliseconds', 'request_bytes', 'response_bytes', 'request_messages_total',
  'response_messages_total', 'tcp_connections_opened_total', 'tcp_connections_closed_total', 'tcp_sent_bytes_total', 'tcp_received_bytes_total'];

export function istioStatsConfig(raw: Raw, path: string, ctx: TranslateContext): IstioStatsConfig {
  // Scope rotation bounds the memory of stats keyed by request data; Legate keeps them all.
  checkFields(raw, path, 'stats.PluginConfig', ['reporter', 'disable_host_header_fallback', 'metrics'],
    ['tcp_reporting_duration', 'rotation_interval', 'graceful_deletion_interval', 'rescoping_duration', 'scope_grace_period_duration'], ctx);
  const reporter = str(raw, 'reporter', 'UNSPECIFIED');
  if (reporter !== 'UNSPECIFIED' && reporter !== 'SERVER_GATEWAY') reject(joinPath(path, 'reporter'), `unknown reporter '${reporter}'`, 'use UNSPECIFIED or SERVER_GATEWAY');
  const metrics = list(raw, 'metrics').map((m, i) => {
    const at = indexPath(joinPath(path, 'metrics'), i);
    // dimensions are CEL expressions, which Legate cannot evaluate; match is not built in Istio either.
    checkFields(m, at, 'stats.MetricConfig', ['name', 'drop', 'tags_to_remove'], ['match'], ctx);
    const name = str(m, 'name');
    if (name !== '' && !STANDARD_METRICS.includes(name)) reject(joinPath(at, 'name'), `'${name}' is not one of Istio's standard metrics`, `use one of ${STANDARD_METRICS.join(', ')}`);
    return { name, drop: bool(m, 'drop', false), tagsToRemove: strings(m, 'tags_to_remove') };
  });
  return { reporter, trafficDirection: 'UNSPECIFIED', disableHostHeaderFallback: bool(raw, 'disable_host_header_fallback', false), metrics };
}

// enable_discovery looks a peer that sends no header up by address in Istio's workload discovery
// (which finds nothing unless the bootstrap has the metadata_discovery extension, as in Istio).
export function metadataExchangeConfig(raw: Raw, path: string, ctx: TranslateContext): MetadataExchangeConfig {
  checkFields(raw, path, 'envoy.tcp.metadataexchange.config.MetadataExchange', ['protocol', 'enable_discovery', 'additional_labels'], [], ctx);
  const protocol = str(raw, 'protocol');
  if (protocol === '') reject(joinPath(path, 'protocol'), 'required field is missing', 'name the ALPN protocol of the exchange, istio-peer-exchange');
  return { protocol, additionalLabels: strings(raw, 'additional_labels'), enableDiscovery: bool(raw, 'enable_discovery', false) };
}

// io.istio.network.authn: one field.
export function istioAuthnConfig(raw: Raw, path: string, ctx: TranslateContext): IstioAuthnConfig {
  checkFields(raw, path, 'io.istio.network.authn.Config', ['shared'], [], ctx);
  return { shared: bool(raw, 'shared', false) };
}

// istio.alpn (checked against its .proto by the schema): the override list for each protocol.
export function istioAlpnConfig(raw: Raw): IstioAlpnConfig {
  const overrides: IstioAlpnConfig['overrides'] = {};
  for (const entry of list(raw, 'alpn_override')) {
    overrides[str(entry, 'upstream_protocol', 'HTTP10') as keyof IstioAlpnConfig['overrides']] = strings(entry, 'alpn_override');
  }
  return { overrides };
}

// Istio's io.istio.http.connect_baggage.Config has no fields: any other is refused, as Envoy's
// proto validation of the TypedStruct would.
export function connectBaggageConfig(raw: Raw, path: string, ctx: TranslateContext): Record<string, never> {
  checkFields(raw, path, 'io.istio.http.connect_baggage.Config', [], [], ctx);
  return {};
}
