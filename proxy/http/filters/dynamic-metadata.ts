// A request's dynamic metadata (Envoy's StreamInfo::dynamicMetadata): a Struct per filter namespace
// that a filter leaves for the filters after it, the router and the access log, e.g. the rbac
// filter's shadow verdict that Istio's CUSTOM authorization (ext_authz's filter_enabled_metadata)
// reads, or jwt_authn's verified payload that RBAC's metadata principals match. It lives on the
// stream's StreamInfo, allocated by the first filter that sets some.
import type { MetadataStruct, MetadataValue } from '../../config/model.ts';
import type { StreamInfo } from '../../access-log/index.ts';

type WithInfo = { readonly info: StreamInfo };

/** Merges fields into a namespace, as Envoy's setDynamicMetadata: a key set again is replaced whole. */
export function setDynamicMetadata(stream: WithInfo, filter: string, fields: MetadataStruct): void {
  const byFilter = (stream.info.dynamicMetadata ??= {});
  const current = byFilter[filter];
  byFilter[filter] = current === undefined ? { ...fields } : { ...current, ...fields };
}

/** The value at filter / key, or undefined. */
export function dynamicMetadataValue(stream: WithInfo, filter: string, key: string): MetadataValue | undefined {
  return stream.info.dynamicMetadata?.[filter]?.[key];
}

/** Every value a filter left, or undefined. */
export function dynamicMetadataOf(stream: WithInfo, filter: string): MetadataStruct | undefined {
  return stream.info.dynamicMetadata?.[filter];
}
