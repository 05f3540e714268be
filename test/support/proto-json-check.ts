// A strict proto3 JSON check against Envoy's protos, as protobuf's JSON parsers (Go's protojson,
// which istioctl uses) read a message: every field must exist in its message, every value must have
// its field's JSON form, and an Any must name a known type whose body checks in turn. Returns the
// problems, each with its path; none means the JSON parses as that message.
import type protobuf from 'protobufjs';
import { loadProtoFiles, protobufjs } from '../../envoy-api/index.ts';

const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
const WRAPPERS: Record<string, string> = {
  DoubleValue: 'double', FloatValue: 'float', Int64Value: 'int64', UInt64Value: 'uint64', Int32Value: 'int32',
  UInt32Value: 'uint32', BoolValue: 'bool', StringValue: 'string', BytesValue: 'bytes',
};

export class ProtoJsonChecker {
  readonly #root: protobuf.Root;

  constructor(files: readonly string[]) {
    this.#root = loadProtoFiles(files);
  }

  check(typeName: string, value: unknown, path = ''): string[] {
    const problems: string[] = [];
    this.#message(this.#type(typeName), value, path, problems);
    return problems;
  }

  #type(name: string): protobuf.Type {
    const found = this.#root.lookup(name.startsWith('.') ? name : `.${name}`);
    if (!(found instanceof protobufjs().Type)) throw new Error(`unknown message ${name}`);
    return found;
  }

  #message(type: protobuf.Type, value: unknown, path: string, problems: string[]): void {
    const name = type.fullName.slice(1);
    if (name.startsWith('google.protobuf.') && this.#wellKnown(name.slice('google.protobuf.'.length), value, path, problems)) return;
    if (!isObject(value)) return void problems.push(`${path}: expected an object for ${name}`);
    for (const [key, v] of Object.entries(value)) {
      const field = type.fields[key] ?? Object.values(type.fields).find((f) => f.options?.json_name === key || camel(f.name) === key);
      if (field === undefined) {
        problems.push(`${path}.${key}: no field '${key}' in ${name}`);
        continue;
      }
      if (v === null) continue;
      field.resolve();
      if (field.map) {
        if (!isObject(v)) problems.push(`${path}.${key}: expected a map`);
        else for (const [k, item] of Object.entries(v)) this.#value(field, item, `${path}.${key}[${k}]`, problems);
      } else if (field.repeated) {
        if (!Array.isArray(v)) problems.push(`${path}.${key}: expected a list`);
        else v.forEach((item, i) => this.#value(field, item, `${path}.${key}[${i}]`, problems));
      } else this.#value(field, v, `${path}.${key}`, problems);
    }
  }

  #value(field: protobuf.Field, v: unknown, path: string, problems: string[]): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobufjs().Type) return this.#message(resolved, v, path, problems);
    if (resolved instanceof protobufjs().Enum) {
      if (typeof v === 'string' ? resolved.values[v] === undefined : typeof v !== 'number') problems.push(`${path}: '${String(v)}' is not a value of ${resolved.name}`);
      return;
    }
    this.#scalar(field.type, v, path, problems);
  }

  #scalar(type: string, v: unknown, path: string, problems: string[]): void {
    const ok =
      type === 'string' ? typeof v === 'string'
      : type === 'bool' ? typeof v === 'boolean'
      : type === 'bytes' ? typeof v === 'string' && /^[A-Za-z0-9+/=_-]*$/.test(v)
      : typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$|^(NaN|-?Infinity)$/.test(v));
    if (!ok) problems.push(`${path}: ${JSON.stringify(v)} is not a ${type}`);
  }

  // Well-known types have JSON forms of their own; true when handled.
  #wellKnown(name: string, value: unknown, path: string, problems: string[]): boolean {
    if (name === 'Any') {
      if (!isObject(value) || typeof value['@type'] !== 'string') problems.push(`${path}: an Any needs "@type"`);
      else {
        const { '@type': url, ...body } = value;
        const typeName = (url as string).slice((url as string).lastIndexOf('/') + 1);
        let type: protobuf.Type;
        try {
          type = this.#type(typeName);
        } catch {
          problems.push(`${path}: unknown type ${String(url)}`);
          return true;
        }
        const special = typeName.startsWith('google.protobuf.');
        this.#message(type, special ? body.value : body, path, problems);
      }
      return true;
    }
    if (name === 'Duration') return check(typeof value === 'string' && DURATION.test(value), `${path}: ${JSON.stringify(value)} is not a Duration`, problems);
    if (name === 'Timestamp') return check(typeof value === 'string' && TIMESTAMP.test(value), `${path}: ${JSON.stringify(value)} is not a Timestamp`, problems);
    if (WRAPPERS[name] !== undefined) return this.#scalar(WRAPPERS[name], value, path, problems), true;
    if (name === 'Struct') return check(isObject(value), `${path}: a Struct is an object`, problems);
    if (name === 'Value') return true;
    if (name === 'ListValue') return check(Array.isArray(value), `${path}: a ListValue is a list`, problems);
    if (name === 'FieldMask') return check(typeof value === 'string', `${path}: a FieldMask is a string`, problems);
    return name === 'Empty' ? check(isObject(value) && Object.keys(value).length === 0, `${path}: Empty is {}`, problems) : false;
  }
}

function check(ok: boolean, problem: string, problems: string[]): true {
  if (!ok) problems.push(problem);
  return true;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
