// Envoy's TransportSocketOptionsUtility::fromFilterState for the upstream TLS: the well-known
// objects envoy.network.upstream_server_name (the SNI) and envoy.network.application_protocols
// (the ALPN list, comma-separated) override the cluster's. What the request chose itself comes
// first (auto_sni's server name, istio.alpn's list), as in Envoy those filters overwrite the
// objects. The options key the host's pool, so connections with another SNI or ALPN never mix.
import { APPLICATION_PROTOCOLS_KEY, UPSTREAM_SERVER_NAME_KEY, type FilterState } from '../filter-state/index.ts';
import type { UpstreamTlsOptions } from '../transport/index.ts';


export function tlsOptionsWithFilterState(tls: UpstreamTlsOptions | undefined, state: FilterState | undefined): UpstreamTlsOptions | undefined {
  if (state === undefined) return tls;
  const serverName = tls?.serverName === undefined ? state.get(UPSTREAM_SERVER_NAME_KEY)?.asString() : undefined;
  const alpn = tls?.alpn === undefined ? state.get(APPLICATION_PROTOCOLS_KEY)?.asString() : undefined;
  if (serverName === undefined && alpn === undefined) return tls;
  const options: UpstreamTlsOptions = { ...tls };
  if (serverName !== undefined && serverName !== '') options.serverName = serverName;
  if (alpn !== undefined && alpn !== '') options.alpn = alpn.split(',');
  return options;
}
