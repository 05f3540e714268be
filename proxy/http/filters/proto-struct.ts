// google.protobuf.Struct as protobufjs gives and takes it (its built-in struct.proto has camelCase
// fields, keepCase or not) <-> the plain values dynamic metadata holds: the gRPC services' side of
// it (ext_authz's metadata_context, the rate limit service's dynamic_metadata).
import type { MetadataStruct, MetadataValue } from '../../config/model.ts';

export interface ProtoValue {
  nullValue?: number | string;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
}

export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

export function toProtoStruct(struct: MetadataStruct): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const key of Object.keys(struct)) fields[key] = toProtoValue(struct[key]);
  return { fields };
}

function toProtoValue(value: MetadataValue): ProtoValue {
  if (value === null) return { nullValue: 0 };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: (value as readonly MetadataValue[]).map(toProtoValue) } };
  return { structValue: toProtoStruct(value as MetadataStruct) };
}

export function fromProtoStruct(struct: ProtoStruct): MetadataStruct {
  const out: Record<string, MetadataValue> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) {
    const plain = fromProtoValue(value);
    if (plain !== undefined) out[key] = plain;
  }
  return out;
}

// A Value with no kind set has no plain form: it is left out.
function fromProtoValue(value: ProtoValue): MetadataValue | undefined {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.numberValue !== undefined) return value.numberValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.structValue !== undefined) return fromProtoStruct(value.structValue);
  if (value.listValue !== undefined) return (value.listValue.values ?? []).map(fromProtoValue).filter((v) => v !== undefined);
  if (value.nullValue !== undefined) return null;
  return undefined;
}
