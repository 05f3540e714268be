// Envoy's Config::Metadata::metadataValue: the value at a namespace and a path of keys in dynamic
// metadata, each key stepping into a Struct. A namespace, key or struct missing on the way gives
// undefined (Envoy's unset Value). Read by %DYNAMIC_METADATA% and by the MetadataMatcher.
import type { MetadataStruct, MetadataValue } from '../config/model.ts';

export function metadataValueAt(metadata: Readonly<Record<string, MetadataStruct>> | undefined, namespace: string, path: readonly string[]): MetadataValue | undefined {
  let value: MetadataValue | undefined = metadata?.[namespace];
  for (const key of path) {
    if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = Object.hasOwn(value, key) ? (value as MetadataStruct)[key] : undefined;
  }
  return value;
}
