// A request's dynamic metadata (Envoy's StreamInfo::dynamicMetadata): values a filter leaves under
// its name for the filters after it, e.g. the rbac filter's shadow verdict that Istio's CUSTOM
// authorization (ext_authz's filter_enabled_metadata) reads. Kept beside the stream, for its life,
// keyed by the stream object (any stream type, so the stream itself can read it without a cycle).
type HttpStream = object;

export type MetadataValue = string | number | boolean;

const metadata = new WeakMap<HttpStream, Map<string, Record<string, MetadataValue>>>();

export function setDynamicMetadata(stream: HttpStream, filter: string, fields: Record<string, MetadataValue>): void {
  let byFilter = metadata.get(stream);
  if (byFilter === undefined) metadata.set(stream, (byFilter = new Map()));
  byFilter.set(filter, { ...byFilter.get(filter), ...fields });
}

/** The value at filter / key, or undefined. */
export function dynamicMetadataValue(stream: HttpStream, filter: string, key: string): MetadataValue | undefined {
  return metadata.get(stream)?.get(filter)?.[key];
}

/** Every filter's values, by filter name (an ORIGINAL_DST cluster's metadata_key reads them). */
export function dynamicMetadataNamespaces(stream: HttpStream): Readonly<Record<string, Readonly<Record<string, MetadataValue>>>> | undefined {
  const byFilter = metadata.get(stream);
  return byFilter === undefined ? undefined : Object.fromEntries(byFilter);
}

/** Every value a filter left, or undefined. */
export function dynamicMetadataOf(stream: HttpStream, filter: string): Readonly<Record<string, MetadataValue>> | undefined {
  return metadata.get(stream)?.get(filter);
}
