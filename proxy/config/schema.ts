// Checks a plain object against an Envoy message type, the way Envoy reads config: proto3 JSON
// mapping (snake_case or lowerCamelCase names, enums by name, Duration strings, wrappers as plain
// values, Struct as plain JSON, Any by "@type"), plus the protoc-gen-validate rules written in
// Envoy's protos (required fields, ranges, lengths) and Legate's support table. It also accepts
// what @grpc/proto-loader produces for xDS resources (Duration {seconds, nanos}, wrappers
// {value}, Any {type_url, value: bytes}, enums as numbers, 64-bit integers as strings).
//
// The result is the same object normalised: snake_case keys, enums as names, integers as numbers,
// Durations as milliseconds, wrappers unwrapped, Any as {'@type': full type name, ...fields},
// Struct/Value as plain JSON, bytes as base64. Unset (null) fields are dropped.
import type protobuf from 'protobufjs';
import { ConfigError, indexPath, joinPath, keyPath } from './errors.ts';
import { ANY_PLACES, SCHEMALESS_TYPES } from './extensions.ts';
import { envoyProtoRoot, lookupMessage, protobufjs } from './protos.ts';
import { fieldSupport, newerIgnoredField } from './support.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Normalized = Record<string, unknown>;

// Marks an Any that named a type Legate does not know inside an `is_optional` filter: the
// translator skips that filter with a warning instead of failing.
export const UNSUPPORTED_ANY = '@unsupported';

interface Walk {
  warnings: string[];
  protoForm: boolean; // inside a binary Any decoded by protobufjs: Struct/Value have their proto shape
  allowUnknownFields: boolean; // Envoy's --allow-unknown-static-fields: warned and dropped
}

// Checks `value` against the message type `typeName` (e.g. 'envoy.config.listener.v3.Listener')
// and returns it normalised. Warnings (ignored or deprecated fields) are appended to `warnings`.
export function checkMessage(value: unknown, typeName: string, path = '', warnings: string[] = [], allowUnknownFields = false): Normalized {
  const type = lookupMessage(typeName);
  if (type === undefined) throw new ConfigError(path, `unknown message type '${typeName}'`);
  const walk: Walk = { warnings, protoForm: false, allowUnknownFields };
  try {
    const result = walkMessage(type, value, path, walk, undefined);
    if (!isObject(result)) throw new ConfigError(path, `${typeName} is not an object message`);
    return result;
  } catch (err) {
    throw asConfigError(err, path);
  }
}

// Checks a resource that names its own type in "@type" (an xDS resource as JSON, or the Any a
// DiscoveryResponse carries). `expectedType` rejects a resource of the wrong kind.
export function checkResource(value: unknown, expectedType: string, path = '', warnings: string[] = []): Normalized {
  const walk: Walk = { warnings, protoForm: false, allowUnknownFields: false }; // xDS resources are always checked whole
  try {
    if (isObject(value) && (value['@type'] !== undefined || isBinaryAny(value))) {
      const result = walkAny(value, path, walk, [expectedType], false);
      const { '@type': _type, ...fields } = result;
      return fields;
    }
  } catch (err) {
    throw asConfigError(err, path);
  }
  return checkMessage(value, expectedType, path, warnings);
}

// Anything unexpected thrown while walking odd input still comes out as a ConfigError.
function asConfigError(err: unknown, path: string): ConfigError {
  if (err instanceof ConfigError) return err;
  return new ConfigError(path, `cannot read this value: ${(err as Error)?.message ?? String(err)}`);
}

// ---- messages ----

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

const TYPED_STRUCTS = new Set(['xds.type.v3.TypedStruct', 'udpa.type.v1.TypedStruct']);

// protobufjs builds fullName from the parent chain on every read: cached, as every field of every
// resource asks (a mesh of 10,000 services asks millions of times).
const fullNames = new WeakMap<protobuf.ReflectionObject, string>();

function fullName(type: protobuf.ReflectionObject): string {
  let name = fullNames.get(type);
  if (name === undefined) {
    name = type.fullName.replace(/^\./, '');
    fullNames.set(type, name);
  }
  return name;
}

// `allowed`: for Any, the types this place accepts; `optional`: unknown Any types are tolerated.
function walkMessage(type: protobuf.Type, value: unknown, path: string, walk: Walk, place: AnyPlace | undefined): unknown {
  const name = fullName(type);
  const wrapped = WRAPPERS[name];
  if (wrapped !== undefined) {
    // proto-loader gives {value: x}; JSON gives x.
    const inner = isObject(value) && Object.keys(value).length === 1 && 'value' in value ? value.value : value;
    return walkScalar(wrapped, inner, path);
  }
  switch (name) {
    case 'google.protobuf.Duration':
      return parseDuration(value, path);
    case 'google.protobuf.Any':
      if (!isObject(value)) throw typeError(path, 'an object with an "@type"', value);
      return walkAny(value, path, walk, place?.allowed, place?.optional ?? false);
    case 'google.protobuf.Struct':
      return walk.protoForm ? structFromProto(value, path) : jsonObject(value, path);
    case 'google.protobuf.Value':
      return walk.protoForm ? valueFromProto(value, path) : jsonValue(value, path);
    case 'google.protobuf.ListValue':
      return walk.protoForm ? listFromProto(value, path) : jsonList(value, path);
    case 'google.protobuf.Timestamp':
    case 'google.protobuf.FieldMask':
      if (typeof value !== 'string') throw typeError(path, `a string (${name})`, value);
      return value;
    default:
      return walkFields(type, value, path, walk);
  }
}

interface AnyPlace {
  allowed: string[] | undefined;
  optional: boolean;
}

const jsonNameCache = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

// lowerCamelCase name -> field, for proto3 JSON names.
function jsonNames(type: protobuf.Type): Map<string, protobuf.Field> {
  let names = jsonNameCache.get(type);
  if (names === undefined) {
    names = new Map();
    for (const field of type.fieldsArray) names.set(lowerCamel(field.name), field);
    jsonNameCache.set(type, names);
  }
  return names;
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function walkFields(type: protobuf.Type, value: unknown, path: string, walk: Walk): Normalized {
  const name = fullName(type);
  if (!isObject(value)) throw typeError(path, `an object (${name})`, value);
  const out: Normalized = {};
  // Envoy's `is_optional` lets a filter of an unknown type be skipped rather than rejected.
  const optional = 'is_optional' in type.fields && (value.is_optional === true || value.isOptional === true);
  for (const [key, item] of Object.entries(value)) {
    if (item === null || item === undefined) continue;
    const field = type.fields[key] ?? jsonNames(type).get(key);
    if (field === undefined) {
      if (isProtoLoaderOneofName(type, key, item)) continue;
      if (newerIgnoredField(name, key)) {
        walk.warnings.push(`${joinPath(path, key)}: ignored by Legate`);
        continue;
      }
      if (walk.allowUnknownFields) {
        walk.warnings.push(`${joinPath(path, key)}: unknown field '${key}' in ${name} ignored (--allow-unknown-static-fields)`);
        continue;
      }
      throw new ConfigError(joinPath(path, key), `unknown field '${key}' in ${name}`, suggestField(type, key, path));
    }
    const fieldPath = joinPath(path, field.name);
    if (field.name in out) throw new ConfigError(fieldPath, `field '${field.name}' is given twice (snake_case and lowerCamelCase)`, 'keep one');
    const verdict = fieldSupport(name, field.name);
    if (verdict === 'ignored') {
      walk.warnings.push(`${fieldPath}: ignored by Legate`);
      continue;
    }
    if (verdict === 'unsupported') {
      const hint = isSecurityPath(fieldPath)
        ? `Legate cannot run this part as written${securityNote(fieldPath)}; see proxy/config/README.md for what Legate implements`
        : 'remove it; see proxy/config/README.md for what Legate implements';
      throw new ConfigError(fieldPath, `field '${field.name}' of ${name} is not supported by Legate`, hint);
    }
    if (field.options?.deprecated === true) walk.warnings.push(`${fieldPath}: deprecated in Envoy`);
    const place: AnyPlace = { allowed: ANY_PLACES[`${name}.${field.name}`], optional };
    out[field.name] = walkField(field, item, fieldPath, walk, place);
  }
  for (const oneof of type.oneofsArray) checkOneof(oneof, out, path);
  for (const field of type.fieldsArray) checkRules(field, out, path);
  return out;
}

// Transport sockets and secrets protect traffic: a hint there never suggests dropping a field.
function isSecurityPath(path: string): boolean {
  return /transport_socket|secrets|tls_context|validation_context/.test(path);
}

function securityNote(path: string): string {
  return isSecurityPath(path) ? ', and removing it could change the transport\'s security' : '';
}

// proto-loader's `oneofs: true` adds a virtual field naming the member that is set.
function isProtoLoaderOneofName(type: protobuf.Type, key: string, item: unknown): boolean {
  const oneof = type.oneofs?.[key];
  return oneof !== undefined && typeof item === 'string' && oneof.oneof.includes(item);
}

function suggestField(type: protobuf.Type, key: string, path: string): string {
  const wanted = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const field of type.fieldsArray) {
    const d = editDistance(wanted, field.name);
    if (d < bestDistance) {
      bestDistance = d;
      best = field.name;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(wanted.length / 4))) return `did you mean '${best}'?`;
  // Legate's copy of Envoy's API may predate the field: then it is a field Legate does not support.
  return `a misspelling, or a field of a newer Envoy than Legate's API (not supported by Legate${securityNote(path)}); see the fields of ${fullName(type)} in Envoy's API reference`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

function walkField(field: protobuf.Field, value: unknown, path: string, walk: Walk, place: AnyPlace): unknown {
  if (field.map) {
    if (!isObject(value)) throw typeError(path, 'a map (an object)', value);
    const out: Normalized = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === null || item === undefined) continue;
      out[key] = walkSingle(field, item, keyPath(path, key), walk, place);
    }
    return out;
  }
  if (field.repeated) {
    // Envoy's loader (protobuf's JSON parser) takes a single value for a repeated field as a list
    // of one; Envoy's own examples write `filters:` that way.
    const items = Array.isArray(value) ? value : [value];
    return items.map((item, i) => walkSingle(field, item, indexPath(path, i), walk, place));
  }
  return walkSingle(field, value, path, walk, place);
}

function walkSingle(field: protobuf.Field, value: unknown, path: string, walk: Walk, place: AnyPlace): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobufjs().Type) return walkMessage(resolved, value, path, walk, place);
  if (resolved instanceof protobufjs().Enum) return walkEnum(resolved, value, path);
  return walkScalar(field.type, value, path);
}

function walkEnum(type: protobuf.Enum, value: unknown, path: string): string {
  if (typeof value === 'string' && value in type.values) return value;
  // Envoy parses enum names case-insensitively (its examples write `type: strict_dns`).
  if (typeof value === 'string' && value.toUpperCase() in type.values) return value.toUpperCase();
  if (typeof value === 'number' && type.valuesById[value] !== undefined) return type.valuesById[value];
  const names = Object.keys(type.values);
  const shown = names.length > 12 ? `${names.slice(0, 12).join(', ')}, ...` : names.join(', ');
  throw new ConfigError(path, `unknown value ${['string', 'number', 'boolean'].includes(typeof value) ? JSON.stringify(value) : describe(value)} for enum ${fullName(type)}`, `use one of ${shown}`);
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  sint32: [-2147483648, 2147483647],
  sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  fixed32: [0, 4294967295],
  int64: [-Number.MAX_VALUE, Number.MAX_VALUE],
  sint64: [-Number.MAX_VALUE, Number.MAX_VALUE],
  sfixed64: [-Number.MAX_VALUE, Number.MAX_VALUE],
  uint64: [0, Number.MAX_VALUE],
  fixed64: [0, Number.MAX_VALUE],
};

function walkScalar(kind: string, value: unknown, path: string): unknown {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw typeError(path, 'a string', value);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw typeError(path, 'a boolean (true or false)', value);
      return value;
    case 'double':
    case 'float': {
      if (typeof value === 'number') return value;
      if (typeof value === 'string') {
        if (value === 'NaN') return Number.NaN;
        if (value === 'Infinity') return Infinity;
        if (value === '-Infinity') return -Infinity;
        if (value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      }
      throw typeError(path, `a number (${kind})`, value);
    }
    case 'bytes':
      if (typeof value === 'string') return value;
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      throw typeError(path, 'base64 bytes (a string)', value);
    default: {
      const range = INT_RANGES[kind];
      if (range === undefined) throw new ConfigError(path, `unsupported scalar type ${kind}`);
      let n: number | undefined;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) n = Number(value);
      else if (isLong(value)) n = Number(String(value));
      const unsigned = range[0] === 0;
      const expected = `${unsigned ? 'a non-negative' : 'an'} integer (${kind})`;
      if (n === undefined || !Number.isInteger(n)) throw typeError(path, expected, value);
      if (n < range[0] || n > range[1]) throw new ConfigError(path, `${n} is out of range for ${kind}`, `use ${expected}`);
      return n;
    }
  }
}

function isLong(value: unknown): boolean {
  return isObject(value) && typeof value.low === 'number' && typeof value.high === 'number';
}

// ---- Any ----

// proto-loader leaves an Any as {type_url, value}: the message's bytes (base64 when bytes: String).
function isBinaryAny(value: Record<string, unknown>): boolean {
  return typeof value.type_url === 'string' && value['@type'] === undefined
    && (value.value instanceof Uint8Array || typeof value.value === 'string');
}

function anyBytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : Buffer.from(String(value), 'base64');
}

function typeNameOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

function walkAny(value: Record<string, unknown>, path: string, walk: Walk, allowed: string[] | undefined, optional: boolean): Normalized {
  let url: unknown;
  let body: Record<string, unknown>;
  let inner = walk;
  if (isBinaryAny(value)) {
    url = value.type_url;
    const type = lookupMessage(typeNameOf(value.type_url as string));
    if (type === undefined) return unknownAny(typeNameOf(value.type_url as string), path, allowed, optional);
    const decoded = type.toObject(type.decode(anyBytes(value.value)), { longs: String, enums: String });
    body = decoded as Record<string, unknown>;
    inner = { ...walk, protoForm: true };
  } else {
    url = value['@type'];
    if (typeof url !== 'string' || url === '') {
      throw new ConfigError(path, 'missing "@type"', `add "@type": type.googleapis.com/<message>${allowed === undefined ? '' : ` (one of ${allowed.join(', ')})`}`);
    }
    const { '@type': _type, ...rest } = value;
    body = rest;
  }
  let typeName = typeNameOf(url as string);
  // A TypedStruct carries the real type's URL and its fields as a Struct.
  if (TYPED_STRUCTS.has(typeName)) {
    const innerUrl = body.type_url ?? body.typeUrl;
    if (typeof innerUrl !== 'string') throw new ConfigError(joinPath(path, 'type_url'), 'TypedStruct needs a type_url', 'name the message type the struct holds');
    const struct = inner.protoForm ? structFromProto(body.value ?? {}, joinPath(path, 'value')) : body.value ?? {};
    if (!isObject(struct)) throw typeError(joinPath(path, 'value'), 'an object', struct);
    typeName = typeNameOf(innerUrl);
    body = struct;
    inner = { ...inner, protoForm: false };
  }
  if (allowed !== undefined && !allowed.includes(typeName)) return unknownAny(typeName, path, allowed, optional);
  // Istio's filters: their translators check the fields themselves, whether they came in a
  // TypedStruct or packed (decoded by the .proto Legate has for some of them).
  if (SCHEMALESS_TYPES.includes(typeName)) return { '@type': typeName, ...(body as Normalized) };
  const type = lookupMessage(typeName);
  if (type === undefined) return unknownAny(typeName, path, allowed, optional);
  // Well-known types packed in an Any keep their JSON form under "value".
  const special = WRAPPERS[typeName] !== undefined || typeName.startsWith('google.protobuf.');
  const walked = walkMessage(type, special ? body.value : body, path, inner, undefined);
  return special ? { '@type': typeName, value: walked } : { '@type': typeName, ...(walked as Normalized) };
}

function unknownAny(typeName: string, path: string, allowed: string[] | undefined, optional: boolean): Normalized {
  if (optional) return { '@type': typeName, [UNSUPPORTED_ANY]: true };
  const known = allowed !== undefined ? `Legate supports here: ${allowed.join(', ')}` : 'check the spelling of the type URL';
  const what = allowed !== undefined && lookupMessage(typeName) !== undefined
    ? `type '${typeName}' is not accepted here`
    : `unknown or unsupported @type '${typeName}'`;
  throw new ConfigError(path, what, known);
}

// ---- well-known types ----

// Milliseconds (possibly fractional) from "5s", "0.25s", {seconds, nanos}.
function parseDuration(value: unknown, path: string): number {
  if (typeof value === 'string') {
    const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(value.trim());
    if (m !== null) {
      const ms = Number(m[2]) * 1000 + Number((m[3] ?? '').padEnd(9, '0')) / 1e6;
      return m[1] === '-' ? -ms : ms;
    }
  } else if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.every((k) => k === 'seconds' || k === 'nanos')) {
      const seconds = Number(value.seconds ?? 0);
      const nanos = Number(value.nanos ?? 0);
      if (Number.isInteger(seconds) && Number.isInteger(nanos) && Math.abs(nanos) < 1e9) return seconds * 1000 + nanos / 1e6;
    }
  }
  throw new ConfigError(path, `expected a duration, got ${describe(value)}`, 'write seconds with an "s" suffix, e.g. "5s" or "0.25s"');
}

function jsonValue(value: unknown, path: string): Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw typeError(path, 'a finite number', value);
    return value;
  }
  if (Array.isArray(value)) return jsonList(value, path);
  if (isObject(value)) return jsonObject(value, path);
  throw typeError(path, 'a JSON value', value);
}

function jsonList(value: unknown, path: string): Json[] {
  if (!Array.isArray(value)) throw typeError(path, 'a list', value);
  return value.map((item, i) => jsonValue(item, indexPath(path, i)));
}

function jsonObject(value: unknown, path: string): { [key: string]: Json } {
  if (!isObject(value)) throw typeError(path, 'an object (google.protobuf.Struct)', value);
  const out: { [key: string]: Json } = {};
  for (const [key, item] of Object.entries(value)) out[key] = jsonValue(item === undefined ? null : item, keyPath(path, key));
  return out;
}

function structFromProto(value: unknown, path: string): { [key: string]: Json } {
  if (!isObject(value)) throw typeError(path, 'a google.protobuf.Struct', value);
  const fields = isObject(value.fields) ? value.fields : {};
  const out: { [key: string]: Json } = {};
  for (const [key, item] of Object.entries(fields)) out[key] = valueFromProto(item, keyPath(path, key));
  return out;
}

function listFromProto(value: unknown, path: string): Json[] {
  const values = isObject(value) && Array.isArray(value.values) ? value.values : [];
  return values.map((item, i) => valueFromProto(item, indexPath(path, i)));
}

function valueFromProto(value: unknown, path: string): Json {
  if (!isObject(value)) throw typeError(path, 'a google.protobuf.Value', value);
  if ('string_value' in value) return String(value.string_value);
  if ('number_value' in value) return Number(value.number_value);
  if ('bool_value' in value) return Boolean(value.bool_value);
  if ('struct_value' in value) return structFromProto(value.struct_value, path);
  if ('list_value' in value) return listFromProto(value.list_value, path);
  return null;
}

// ---- oneofs and protoc-gen-validate rules ----

function checkOneof(oneof: protobuf.OneOf, out: Normalized, path: string): void {
  const set = oneof.oneof.filter((member) => member in out);
  if (set.length > 1) {
    throw new ConfigError(joinPath(path, set[1]), `only one of ${set.map((s) => `'${s}'`).join(', ')} may be set`, `they are alternatives (oneof ${oneof.name}); keep one`);
  }
  if (set.length === 0 && hasOption(oneof, '(validate.required)')) {
    const members = oneof.oneof.filter((m) => fieldSupport(fullName(oneof.parent as protobuf.Type), m) === 'supported');
    throw new ConfigError(path, `one of ${members.map((m) => `'${m}'`).join(', ')} is required`, `set one of them (oneof ${oneof.name})`);
  }
}

function hasOption(obj: protobuf.ReflectionObject, name: string): boolean {
  return (obj.parsedOptions as Record<string, unknown>[] | undefined)?.some((o) => o[name] === true) ?? false;
}

type Rules = Record<string, unknown>;

function rulesOf(field: protobuf.Field): Rules | undefined {
  const options = field.parsedOptions as Record<string, unknown>[] | undefined;
  const found = options?.find((o) => o['(validate.rules)'] !== undefined);
  return found?.['(validate.rules)'] as Rules | undefined;
}

function checkRules(field: protobuf.Field, out: Normalized, path: string): void {
  const rules = rulesOf(field);
  if (rules === undefined) return;
  const fieldPath = joinPath(path, field.name);
  const value = out[field.name];
  const present = value !== undefined;
  // Rules on a oneof member apply only when that member is the one set.
  const inOneof = field.partOf !== null && field.partOf !== undefined;
  if (inOneof && !present) return;
  const required = (rules.message as Rules | undefined)?.required === true
    || (rules.duration as Rules | undefined)?.required === true
    || (rules.any as Rules | undefined)?.required === true;
  if (required && !present) throw missing(field, fieldPath);
  if (field.repeated || field.map) {
    const items = (field.map ? Object.values(value ?? {}) : (value as unknown[] | undefined) ?? []) as unknown[];
    const r = (field.map ? rules.map : rules.repeated) as Rules | undefined;
    if (r === undefined) return;
    const min = Number(r.min_items ?? r.min_pairs ?? 0);
    const max = r.max_items ?? r.max_pairs;
    if (items.length < min) {
      if (items.length === 0) throw missing(field, fieldPath, `give at least ${min}`);
      throw new ConfigError(fieldPath, `needs at least ${min} entries, has ${items.length}`);
    }
    if (max !== undefined && items.length > Number(max)) throw new ConfigError(fieldPath, `allows at most ${Number(max)} entries, has ${items.length}`);
    const itemRules = r.items as Rules | undefined;
    if (itemRules !== undefined && !field.map) {
      items.forEach((item, i) => checkScalarRules(itemRules, item, indexPath(fieldPath, i), field));
    }
    return;
  }
  // Scalars outside a oneof are checked even when unset: their value is then the default, and an
  // empty string failing min_len means the field is required.
  const isWrapperOrMessage = field.resolvedType instanceof protobufjs().Type;
  if (!present && isWrapperOrMessage) return;
  checkScalarRules(rules, present ? value : defaultOf(field), fieldPath, field, !present);
}

function defaultOf(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobufjs().Enum) return field.resolvedType.valuesById[0];
  if (field.type === 'string' || field.type === 'bytes') return '';
  if (field.type === 'bool') return false;
  return 0;
}

function missing(field: protobuf.Field, path: string, extra?: string): ConfigError {
  const type = field.resolvedType !== null ? fullName(field.resolvedType) : field.type;
  return new ConfigError(path, 'required field is missing', `set ${field.name} (${type})${extra !== undefined ? `; ${extra}` : ''}`);
}

function checkScalarRules(rules: Rules, value: unknown, path: string, field: protobuf.Field, unset = false): void {
  const s = rules.string as Rules | undefined;
  if (s !== undefined && typeof value === 'string') {
    if (s.min_len !== undefined && [...value].length < Number(s.min_len)) {
      if (value === '') throw missing(field, path);
      throw new ConfigError(path, `must be at least ${Number(s.min_len)} characters long`);
    }
    if (s.max_len !== undefined && [...value].length > Number(s.max_len)) throw new ConfigError(path, `must be at most ${Number(s.max_len)} characters long`);
    if (s.max_bytes !== undefined && Buffer.byteLength(value) > Number(s.max_bytes)) throw new ConfigError(path, `must be at most ${Number(s.max_bytes)} bytes long`);
    if (Array.isArray(s.in) && !s.in.includes(value)) throw new ConfigError(path, `${JSON.stringify(value)} is not allowed`, `use one of ${s.in.map((v) => JSON.stringify(v)).join(', ')}`);
    if (typeof s.pattern === 'string' && !safeTest(s.pattern, value)) throw new ConfigError(path, `${JSON.stringify(value)} does not match ${s.pattern}`);
    if (typeof s.well_known_regex === 'string' && /[\0\r\n]/.test(value)) throw new ConfigError(path, 'must not contain NUL, CR or LF', 'remove the control characters');
    return;
  }
  const d = rules.duration as Rules | undefined;
  if (d !== undefined && typeof value === 'number') {
    compare(value, d, path, durationMs, (n) => `${n / 1000}s`);
    return;
  }
  const e = rules.enum as Rules | undefined;
  if (e !== undefined && typeof value === 'string') {
    const enumType = field.resolvedType as protobuf.Enum;
    const n = enumType.values[value];
    const notIn = e.not_in === undefined ? [] : ([] as unknown[]).concat(e.not_in).map(Number);
    if (notIn.includes(n)) throw new ConfigError(path, `${value} is not allowed here`);
    return;
  }
  for (const kind of ['uint32', 'int32', 'uint64', 'int64', 'double', 'float', 'sint32', 'fixed32']) {
    const r = rules[kind] as Rules | undefined;
    if (r !== undefined && typeof value === 'number') {
      try {
        compare(value, r, path, Number, String);
      } catch (err) {
        // An unset field that may not be zero is a missing field.
        throw unset ? missing(field, path) : err;
      }
      return;
    }
  }
}

function safeTest(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return true;
  }
}

function durationMs(rule: unknown): number {
  if (!isObject(rule)) return 0;
  return Number(rule.seconds ?? 0) * 1000 + Number(rule.nanos ?? 0) / 1e6;
}

function compare(value: number, r: Rules, path: string, toNumber: (v: unknown) => number, show: (n: number) => string): void {
  const bound = (k: string): number | undefined => (r[k] === undefined ? undefined : toNumber(r[k]));
  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  const fail = (what: string): never => {
    throw new ConfigError(path, `${show(value)} is out of range (${what})`, 'change the value');
  };
  if (gt !== undefined && !(value > gt)) fail(`must be greater than ${show(gt)}`);
  if (gte !== undefined && !(value >= gte)) fail(`must be at least ${show(gte)}`);
  if (lt !== undefined && !(value < lt)) fail(`must be less than ${show(lt)}`);
  if (lte !== undefined && !(value <= lte)) fail(`must be at most ${show(lte)}`);
}

// ---- helpers ----

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

function typeError(path: string, expected: string, value: unknown): ConfigError {
  return new ConfigError(path, `expected ${expected}, got ${describe(value)}`, 'fix the value\'s type');
}

// Loads the protos now (they load lazily otherwise): for a process that wants the cost at start.
export function preloadSchema(): void {
  envoyProtoRoot();
}
