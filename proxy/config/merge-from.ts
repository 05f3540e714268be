// Protobuf's MergeFrom on JSON, as Envoy applies --config-yaml over the bootstrap file: a message
// (object) is merged field by field, a repeated field (list) gets the overlay's items appended, a
// scalar is replaced. Maps, being objects here, merge by key.
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export function mergeFrom(base: unknown, overlay: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(overlay)) return [...base, ...overlay];
  if (!isObject(base) || !isObject(overlay)) return overlay;
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(overlay)) out[key] = key in out ? mergeFrom(out[key], value) : value;
  return out;
}
