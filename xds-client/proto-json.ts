// The proto3 JSON mapping, with snake_case field names: what a YAML bootstrap holds and what the
// proxy's translator reads. Both directions walk the protobufjs schema:
// - toJson: a decoded message -> plain JSON (Duration "5s", wrappers as plain values, Struct as a
//   plain object, Any as {"@type": url, ...fields}, enums by name, int64 as a number when it is
//   a safe integer and as a decimal string otherwise, bytes as base64).
// - fromJson: plain JSON (snake_case or lowerCamelCase names) -> an object for Type.fromObject,
//   rejecting unknown fields and wrong value types the way Envoy's JSON parser does.
import protobuf from 'protobufjs';
import { lookupMessage } from './protos.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

// A JSON value that does not fit the schema; `path` names the field (a.b[2].c).
export class ProtoJsonError extends Error {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(path === '' ? problem : `${path}: ${problem}`);
    this.path = path;
  }
}

export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

type Fields = Record<string, unknown>;

// protobufjs builds fullName from the parent chain on every read: cached (every field of every
// resource asks).
const fullNames = new WeakMap<protobuf.ReflectionObject, string>();

function fullNameOf(type: protobuf.ReflectionObject): string {
  let name = fullNames.get(type);
  if (name === undefined) {
    name = type.fullName;
    fullNames.set(type, name);
  }
  return name;
}

function nameOrUndefined(type: protobuf.ReflectionObject | null | undefined): string | undefined {
  return type == null ? undefined : fullNameOf(type);
}

// ---- encoding ------------------------------------------------------------------------------

// Encodes a JSON object as a message of `type`.
export function encodeJson(type: protobuf.Type, json: unknown, path = ''): Uint8Array {
  return type.encode(type.fromObject(fromJson(type, json, path) as Fields)).finish();
}

// A JSON object carrying "@type" -> google.protobuf.Any.
export function anyFromJson(json: unknown, path = ''): AnyMessage {
  if (!isObject(json)) throw new ProtoJsonError(path, 'expected an object with "@type"');
  const typeUrl = json['@type'];
  if (typeof typeUrl !== 'string' || typeUrl === '') throw new ProtoJsonError(path, 'missing "@type"');
  const type = lookupMessage(typeNameOf(typeUrl));
  if (type === undefined) {
    // An Any of a type we do not know round-trips when it carries its bytes (see toJson).
    if (typeof json.value === 'string' && Object.keys(json).length === 2) {
      return { type_url: typeUrl, value: Buffer.from(json.value, 'base64') };
    }
    throw new ProtoJsonError(path, `unknown type "${typeUrl}"`);
  }
  let inner: unknown;
  if (VALUE_IN_ANY.has(fullNameOf(type))) {
    inner = json.value;
  } else {
    const { '@type': _ignored, ...fields } = json;
    inner = fields;
  }
  return { type_url: typeUrl, value: encodeJson(type, inner, path) };
}

// JSON -> the object form protobufjs's Type.fromObject takes.
export function fromJson(type: protobuf.Type, json: unknown, path: string): unknown {
  switch (fullNameOf(type)) {
    case '.google.protobuf.Any':
      return anyFromJson(json, path);
    case '.google.protobuf.Duration':
      return durationFromJson(json, path);
    case '.google.protobuf.Timestamp':
      return timestampFromJson(json, path);
    case '.google.protobuf.Struct':
      return structFromJson(json, path);
    case '.google.protobuf.Value':
      return valueFromJson(json, path);
    case '.google.protobuf.ListValue':
      return listFromJson(json, path);
  }
  if (WRAPPERS.has(fullNameOf(type))) {
    return { value: fieldValueFromJson(type.fields.value!, json, path) };
  }
  if (!isObject(json)) throw new ProtoJsonError(path, `expected an object (${type.name})`);
  const out: Fields = {};
  const oneofSet = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const fieldPath = join(path, key);
    const field = fieldByJsonName(type, key);
    if (field === undefined) throw new ProtoJsonError(fieldPath, `unknown field in ${type.name}`);
    if (Object.hasOwn(out, field.name)) throw new ProtoJsonError(fieldPath, `field ${field.name} given twice`);
    if (value === null && nameOrUndefined(field.resolvedType) !== '.google.protobuf.Value') continue;
    const oneof = field.partOf;
    if (oneof !== null && !oneof.name.startsWith('_')) {
      const other = oneofSet.get(oneof.name);
      if (other !== undefined) {
        throw new ProtoJsonError(fieldPath, `${other} and ${field.name} are both set; only one of ${oneof.name} may be`);
      }
      oneofSet.set(oneof.name, field.name);
    }
    const converted = fieldFromJson(field, value, fieldPath);
    // Like protobuf's own encoders, a field without presence at its default is not written.
    if (oneof === null && !field.repeated && !(field.resolvedType instanceof protobuf.Type) && isDefaultOf(field, converted)) continue;
    out[field.name] = converted;
  }
  return out;
}

function isDefaultOf(field: protobuf.FieldBase, value: unknown): boolean {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return value === 0 || (Object.hasOwn(resolved.values, value as string) && resolved.values[value as string] === 0);
  return value === 0 || value === '0' || value === '' || value === false;
}

function fieldFromJson(field: protobuf.FieldBase, value: unknown, path: string): unknown {
  if (field instanceof protobuf.MapField) {
    if (!isObject(value)) throw new ProtoJsonError(path, 'expected an object (map)');
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fieldValueFromJson(field, item, join(path, key))]));
  }
  if (field.repeated) {
    // Envoy's loader (protobuf's JSON parser) takes a single value for a repeated field as a list
    // of one; Envoy's own dynamic-config-fs example writes `filters:` that way.
    const items = Array.isArray(value) ? value : [value];
    return items.map((item, i) => fieldValueFromJson(field, item, `${path}[${i}]`));
  }
  return fieldValueFromJson(field, value, path);
}

function fieldValueFromJson(field: protobuf.FieldBase, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return fromJson(resolved, value, path);
  if (resolved instanceof protobuf.Enum) return enumFromJson(resolved, value, path);
  return scalarFromJson(field.type, value, path);
}

function enumFromJson(type: protobuf.Enum, value: unknown, path: string): string | number {
  if (fullNameOf(type) === '.google.protobuf.NullValue' && value === null) return 'NULL_VALUE';
  if (typeof value === 'string' && Object.hasOwn(type.values, value)) return value;
  // Envoy parses enum names case-insensitively.
  if (typeof value === 'string' && Object.hasOwn(type.values, value.toUpperCase())) return value.toUpperCase();
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  throw new ProtoJsonError(path, `expected one of ${Object.keys(type.values).join(', ')}`);
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);

function scalarFromJson(kind: string, value: unknown, path: string): unknown {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw new ProtoJsonError(path, 'expected a string');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new ProtoJsonError(path, 'expected true or false');
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
        throw new ProtoJsonError(path, 'expected base64 bytes');
      }
      return value;
    case 'double':
    case 'float':
      if (typeof value === 'number') return value;
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      throw new ProtoJsonError(path, 'expected a number');
  }
  const integer = parseInteger(value);
  if (integer === undefined) throw new ProtoJsonError(path, 'expected an integer');
  const [min, max] = INT32.has(kind)
    ? [-(2n ** 31n), 2n ** 31n - 1n]
    : UINT32.has(kind)
      ? [0n, 2n ** 32n - 1n]
      : INT64.has(kind)
        ? [-(2n ** 63n), 2n ** 63n - 1n]
        : UINT64.has(kind)
          ? [0n, 2n ** 64n - 1n]
          : [undefined, undefined];
  if (min === undefined || max === undefined) throw new ProtoJsonError(path, `unsupported field type ${kind}`);
  if (integer < min || integer > max) throw new ProtoJsonError(path, `${integer} is out of range for ${kind}`);
  // 64-bit values go to protobufjs as decimal strings so that no precision is lost.
  return INT64.has(kind) || UINT64.has(kind) ? integer.toString() : Number(integer);
}

function parseInteger(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return undefined;
}

function durationFromJson(json: unknown, path: string): Fields {
  const match = typeof json === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
  if (match === null) throw new ProtoJsonError(path, 'expected a duration such as "5s" or "0.25s"');
  const sign = match[1] === undefined ? 1 : -1;
  const seconds = BigInt(match[2]!) * BigInt(sign);
  const nanos = Number((match[3] ?? '').padEnd(9, '0')) * sign;
  return withoutZeros({ seconds: seconds.toString(), nanos });
}

function timestampFromJson(json: unknown, path: string): Fields {
  const match = typeof json === 'string'
    ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(json)
    : null;
  const millis = match === null ? NaN : Date.parse(`${match[1]}${match[3]}`);
  if (match === null || Number.isNaN(millis)) {
    throw new ProtoJsonError(path, 'expected an RFC 3339 timestamp such as "2024-01-01T00:00:00Z"');
  }
  return withoutZeros({ seconds: String(millis / 1000), nanos: Number((match[2] ?? '').padEnd(9, '0')) });
}

function withoutZeros(time: { seconds: string; nanos: number }): Fields {
  const out: Fields = {};
  if (time.seconds !== '0') out.seconds = time.seconds;
  if (time.nanos !== 0) out.nanos = time.nanos;
  return out;
}

function structFromJson(json: unknown, path: string): Fields {
  if (!isObject(json)) throw new ProtoJsonError(path, 'expected an object');
  return { fields: Object.fromEntries(Object.entries(json).map(([key, value]) => [key, valueFromJson(value, join(path, key))])) };
}

function valueFromJson(json: unknown, path: string): Fields {
  const kind = (name: string, value: unknown): Fields => ({ [valueKind(name)]: value });
  if (json === null) return kind('null_value', 'NULL_VALUE');
  if (typeof json === 'number') return kind('number_value', json);
  if (typeof json === 'string') return kind('string_value', json);
  if (typeof json === 'boolean') return kind('bool_value', json);
  if (Array.isArray(json)) return kind('list_value', listFromJson(json, path));
  if (isObject(json)) return kind('struct_value', structFromJson(json, path));
  throw new ProtoJsonError(path, 'expected a JSON value');
}

function listFromJson(json: unknown, path: string): Fields {
  if (!Array.isArray(json)) throw new ProtoJsonError(path, 'expected a list');
  return { values: json.map((item, i) => valueFromJson(item, `${path}[${i}]`)) };
}

// ---- decoding ------------------------------------------------------------------------------

// A decoded message (or the object form of one) -> proto3 JSON.
export function toJson(type: protobuf.Type, message: object): JsonValue {
  const fields = message as Fields;
  switch (fullNameOf(type)) {
    case '.google.protobuf.Any':
      return anyToJson(fields as unknown as AnyMessage);
    case '.google.protobuf.Duration':
      return durationToJson(fields);
    case '.google.protobuf.Timestamp':
      return timestampToJson(fields);
    case '.google.protobuf.Struct':
      return structToJson(fields);
    case '.google.protobuf.Value':
      return valueToJson(fields);
    case '.google.protobuf.ListValue':
      return ((fields.values ?? []) as Fields[]).map(valueToJson);
  }
  if (WRAPPERS.has(fullNameOf(type))) return fieldValueToJson(type.fields.value!, fields.value);
  const out: JsonObject = {};
  for (const field of type.fieldsArray) {
    const value = fields[field.name];
    if (!Object.hasOwn(fields, field.name) || value === null || value === undefined) continue;
    if (field instanceof protobuf.MapField) {
      const entries = Object.entries(value as Fields);
      if (entries.length === 0) continue;
      out[field.name] = Object.fromEntries(entries.map(([k, v]) => [k, fieldValueToJson(field, v)]));
    } else if (field.repeated) {
      const items = value as unknown[];
      if (items.length === 0) continue;
      out[field.name] = items.map((item) => fieldValueToJson(field, item));
    } else {
      // A field without presence is left out at its default, as proto3 JSON does; a oneof
      // member (or proto3 `optional`) is written whenever it is set.
      if (field.partOf === null && !(field.resolvedType instanceof protobuf.Type) && isDefault(value)) continue;
      out[field.name] = fieldValueToJson(field, value);
    }
  }
  return out;
}

// Decodes an Any into {"@type": url, ...fields}. A type that is not loaded keeps its bytes as
// {"@type": url, "value": base64}, so the translator can say which extension it does not know.
export function anyToJson(any: AnyMessage): JsonObject {
  const typeUrl = any.type_url;
  const type = lookupMessage(typeNameOf(typeUrl));
  const bytes = any.value ?? new Uint8Array();
  if (type === undefined) return { '@type': typeUrl, value: Buffer.from(bytes).toString('base64') };
  const inner = toJson(type, type.decode(bytes));
  if (VALUE_IN_ANY.has(fullNameOf(type))) return { '@type': typeUrl, value: inner };
  return { '@type': typeUrl, ...(inner as JsonObject) };
}

function fieldValueToJson(field: protobuf.FieldBase, value: unknown): JsonValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return toJson(resolved, value as object);
  if (resolved instanceof protobuf.Enum) {
    if (fullNameOf(resolved) === '.google.protobuf.NullValue') return null;
    return resolved.valuesById[value as number] ?? (value as number);
  }
  if (INT64.has(field.type) || UINT64.has(field.type)) return longToJson(value);
  if (field.type === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value as JsonValue;
}

function isDefault(value: unknown): boolean {
  if (value === 0 || value === '' || value === false) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  return typeof value === 'object' && value !== null && String(value) === '0';
}

function longToJson(value: unknown): number | string {
  const text = String(value);
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : text;
}

function durationToJson(message: Fields): string {
  const seconds = BigInt(String(message.seconds ?? 0));
  const nanos = Number(message.nanos ?? 0);
  const negative = seconds < 0n || nanos < 0;
  const whole = seconds < 0n ? -seconds : seconds;
  return `${negative ? '-' : ''}${whole}${fraction(Math.abs(nanos))}s`;
}

function timestampToJson(message: Fields): string {
  const seconds = Number(String(message.seconds ?? 0));
  const date = new Date(seconds * 1000).toISOString().replace(/\.000Z$/, '');
  return `${date}${fraction(Number(message.nanos ?? 0))}Z`;
}

// Nanoseconds as the shortest decimal fraction (".25", not ".250"), as people write in YAML;
// every proto3 JSON parser accepts 1 to 9 digits.
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  return `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
}

function structToJson(message: Fields): JsonObject {
  const fields = (message.fields ?? {}) as Record<string, Fields>;
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueToJson(v)]));
}

function valueToJson(message: Fields): JsonValue {
  const get = (name: string): unknown => {
    const key = valueKind(name);
    return Object.hasOwn(message, key) ? message[key] : null;
  };
  for (const name of ['number_value', 'string_value', 'bool_value']) {
    const value = get(name);
    if (value !== null) return value as JsonValue;
  }
  const struct = get('struct_value');
  if (struct !== null) return structToJson(struct as Fields);
  const list = get('list_value');
  if (list !== null) return ((list as Fields).values as Fields[] ?? []).map(valueToJson);
  return null;
}

// protobufjs ships google.protobuf.Value pre-parsed with camelCase field names (keepCase does
// not reach it), so its fields are looked up rather than spelled.
function valueKind(snakeName: string): string {
  return fieldByJsonName(requireValueType(), snakeName)?.name ?? snakeName;
}

let valueType: protobuf.Type | undefined;

function requireValueType(): protobuf.Type {
  valueType ??= lookupMessage('google.protobuf.Value');
  if (valueType === undefined) throw new Error('google.protobuf.Value is not loaded');
  return valueType;
}

// ---- schema helpers ------------------------------------------------------------------------

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (w) => `.google.protobuf.${w}Value`,
  ),
);

// Types whose JSON form is not an object of their fields; inside an Any they sit in "value".
const VALUE_IN_ANY = new Set([
  ...WRAPPERS,
  '.google.protobuf.Duration',
  '.google.protobuf.Timestamp',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
]);

const jsonNames = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

// A field by its proto name or by its lowerCamelCase JSON name, as proto3 JSON parsers accept.
function fieldByJsonName(type: protobuf.Type, key: string): protobuf.Field | undefined {
  let names = jsonNames.get(type);
  if (names === undefined) {
    names = new Map();
    for (const field of type.fieldsArray) {
      names.set(field.name, field);
      names.set(field.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()), field);
      names.set(field.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), field);
    }
    jsonNames.set(type, names);
  }
  return names.get(key);
}

export function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
