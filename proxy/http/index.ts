// L7: Envoy's HTTP connection manager and its filters.
export { HttpConnectionManagerHandler, type HcmContext } from './connection-manager.ts';
export { loadHttpFilters, type FilterNode } from './filters/index.ts';
export { HttpStream } from './stream.ts';
export { withNetworkExtAuthz } from './filters/ext-authz/network-filter.ts';
export { withNetworkPeerExchange } from './network-peer-exchange.ts';
export { hasEscapedSlashes, normalizeRequestPath, unescapeSlashes } from './path-normalization.ts';
