// Envoy's filter state: per-connection and per-stream objects by key (see README.md).
export { FilterState, poolKeyOf, type LifeSpan, type SetOptions, type SharedObject, type StreamSharing } from './filter-state.ts';
export { AddressObject, ConnectAuthority, StringAccessor, createObject, hasObjectFactory, objectFactoryNames, type FilterStateObject } from './objects.ts';
export {
  APPLICATION_PROTOCOLS_KEY,
  CONNECT_AUTHORITY_KEY,
  ORIGINAL_DST_ADDRESS_KEY,
  ORIGINAL_DST_LOCAL_IP_KEY,
  ORIGINAL_DST_REMOTE_IP_KEY,
  TCP_PROXY_CLUSTER_KEY,
  UPSTREAM_SERVER_NAME_KEY,
} from './objects.ts';
