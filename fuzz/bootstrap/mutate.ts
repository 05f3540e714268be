// Mutated bootstrap files: a valid config (examples/, test/fixtures/config/) parsed and changed
// in its structure (fields deleted, retyped, unknown ones added, huge or negative numbers and
// durations, deep nesting, wrong enum values, camelCase keys), or corrupted as text.
import { parse, stringify } from 'yaml';
import { mutateBytes } from '../mutate.ts';
import type { Random } from '../random.ts';

export interface ConfigCase {
  index: number;
  seedFile: string;
  /** The file's text and its extension (json or yaml). */
  text: string;
  ext: 'json' | 'yaml';
  notes: string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

const HUGE_NUMBERS: Json[] = [1e308, -1e308, 2 ** 53 + 1, 2 ** 64, -(2 ** 63), 4294967296, -1, 0, 0.5, -0.0001, 1e-300];
const ODD_STRINGS: Json[] = [
  '', ' ', '-1s', '1e9s', '99999999999999999999s', '0.000000001s', '1.5.3s', 's', '-0s', 'NaN', 'Infinity', '-Infinity', '1h', '10ms',
  '0x10', '1e400', 'null', 'true', '../../../../etc/passwd', '/dev/zero', '%DOWNSTREAM_REMOTE_ADDRESS%', '%', '%%', '[', '(?=x)', '(a+)+$', '\\',
  'a'.repeat(70_000), '\u0000', '\ud800', 'é', 'type.googleapis.com/', 'type.googleapis.com/google.protobuf.Any', 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap',
  'STATIC', 'STRICT_DNS', 'EDS', 'ORIGINAL_DST', 'ROUND_ROBIN', 'MAGLEV', 'RING_HASH', 'HTTP2', 'AUTO', 'UNKNOWN_ENUM', 'static', 'V2', 'DELTA_GRPC', 'REST', '*', '127.0.0.1', '::1', '0.0.0.0', 'localhost', 'unix:/tmp/x',
];

function randomScalar(random: Random): Json {
  switch (random.int(5)) {
    case 0:
      return random.pick(HUGE_NUMBERS);
    case 1:
      return random.pick(ODD_STRINGS);
    case 2:
      return random.chance(0.5);
    case 3:
      return null;
    default:
      return random.range(-5, 70000);
  }
}

// Deep nesting is spliced into the JSON text at the end (cloning or stringifying it as a tree
// would overflow the fuzzer's own stack): the tree holds a marker string.
const DEEP = /"@@deep(\d+)@@"/g;

function deep(random: Random): Json {
  return `@@deep${random.pick([50, 500, 3000, 20000])}@@`;
}

function deepText(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    if (i % 3 === 0) {
      open += '[';
      close = ']' + close;
    } else {
      open += '{"routes":';
      close = '}' + close;
    }
  }
  return `${open}1${close}`;
}

/** Every container in the tree with the path to it. */
function containers(root: Json): Container[] {
  const out: Container[] = [];
  const walk = (node: Json, depth: number) => {
    if (node === null || typeof node !== 'object' || depth > 60) return;
    out.push(node);
    for (const child of Array.isArray(node) ? node : Object.values(node)) walk(child, depth + 1);
  };
  walk(root, 0);
  return out;
}

function keysOf(node: Container): (string | number)[] {
  return Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
}

function get(node: Container, key: string | number): Json {
  return (node as Record<string | number, Json>)[key];
}

function set(node: Container, key: string | number, value: Json): void {
  (node as Record<string | number, Json>)[key] = value;
}

function retype(value: Json, random: Random): Json {
  if (typeof value === 'string') return random.pick<Json>([Number(value) || 7, [value], { value }, value.length > 0, null]);
  if (typeof value === 'number') return random.pick<Json>([String(value), `${value}s`, [value], { value }, value !== 0, -value, value * 1e12]);
  if (typeof value === 'boolean') return random.pick<Json>([String(value), value ? 1 : 0, [value]]);
  if (Array.isArray(value)) return random.pick<Json>([value[0] ?? null, {}, 'list', value.length, [...value, ...value]]);
  if (value !== null && typeof value === 'object') return random.pick<Json>([[value], 'object', Object.keys(value).length, null]);
  return randomScalar(random);
}

const DURATIONS = ['-1s', '0s', '0.000000001s', '315576000001s', '99999999999999999999s', '1.5.3s', '1e3s', '-0.5s', '1s ', 'Infinitys', '0.1234567891s', '5m', '1h'];
const ENUMS = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST', 'ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED', 'HTTP1', 'HTTP2', 'HTTP3', 'AUTO', 'GRPC', 'DELTA_GRPC', 'REST', 'V2', 'V3', 'UDP', 'TCP', 'OVERWRITE_IF_EXISTS_OR_ADD', 'KEEP_UNCHANGED', 'DEFAULT', 'HIGH', 'NOT_AN_ENUM', ''];

/** A value of the same JSON type that a schema check lets through but the translators must judge. */
function sameType(value: Json, random: Random): Json {
  if (typeof value === 'number') return random.pick(HUGE_NUMBERS);
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'string') {
    if (/^\d+(\.\d+)?s$/.test(value)) return random.pick(DURATIONS);
    if (/^[A-Z][A-Z0-9_]+$/.test(value)) return random.pick(ENUMS);
    if (/^\d+$/.test(value)) return random.pick(['-1', '18446744073709551616', '1e3', '0x10', '']);
    return random.pick(ODD_STRINGS);
  }
  return retype(value, random);
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** One structural change somewhere in the tree; returns a note on what it did. */
function mutateTree(root: Json, random: Random): string {
  const nodes = containers(root);
  const node = random.pick(nodes);
  const keys = keysOf(node);
  const key = keys.length > 0 ? random.pick(keys) : undefined;
  const op = random.int(13);
  if (key === undefined || op === 0) {
    const name = random.pick(['unknown_field', 'typed_config', '@type', 'name', 'port_value', 'timeout', 'retry_policy', 'cluster', 'address', 'per_connection_buffer_limit_bytes', 'overload_manager', 'layered_runtime']);
    if (Array.isArray(node)) node.push(randomScalar(random));
    else node[name] = random.chance(0.5) ? randomScalar(random) : {};
    return `insert ${name}`;
  }
  const value = get(node, key);
  switch (op) {
    case 1:
      if (Array.isArray(node)) node.splice(key as number, 1);
      else delete node[key as string];
      return `delete ${key}`;
    case 2:
      set(node, key, retype(value, random));
      return `retype ${key}`;
    case 3:
      set(node, key, random.pick(HUGE_NUMBERS));
      return `number ${key}`;
    case 4:
      set(node, key, random.pick(ODD_STRINGS));
      return `string ${key}`;
    case 5:
      set(node, key, deep(random));
      return `deep ${key}`;
    case 6:
      if (!Array.isArray(node) && typeof key === 'string' && camel(key) !== key) {
        node[camel(key)] = value;
        if (random.chance(0.5)) delete node[key];
        return `camelCase ${key}`;
      }
      set(node, key, structuredClone(value));
      return `copy ${key}`;
    case 9:
    case 10:
    case 11:
    case 12:
      set(node, key, sameType(value, random));
      return `value ${key}`;
    case 7:
      // A subtree copied somewhere else: fields in the wrong message.
      set(node, key, structuredClone(random.pick(nodes)));
      return `graft ${key}`;
    default:
      if (Array.isArray(value)) {
        // Grown, but never past ~300 KB of copies: a file of megabytes measures the YAML parser.
        const size = JSON.stringify(value[0] ?? null).length;
        const count = Math.min(random.pick([2, 50, 2000]), Math.max(2, Math.floor(300_000 / size)));
        set(node, key, random.chance(0.5) ? [] : Array.from({ length: count }, () => structuredClone(value[0] ?? null)));
        return `resize ${key}`;
      }
      set(node, key, randomScalar(random));
      return `scalar ${key}`;
  }
}

const YAML_CORRUPTIONS: ((text: string, random: Random) => string)[] = [
  (t) => t.replace(/\n/, '\n\t'), // a tab in indentation
  (t, r) => {
    const lines = t.split('\n');
    const i = r.int(lines.length);
    lines.splice(i, 0, lines[i]); // a duplicated line: duplicate keys
    return lines.join('\n');
  },
  (t, r) => {
    const lines = t.split('\n');
    lines.splice(r.int(lines.length), 1);
    return lines.join('\n');
  },
  (t) => `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n${t}`,
  (t) => `${t}\nnode: !!binary aGVsbG8=\n`,
  (t) => t.replace(/:\s/, ': !!js/function "x" '),
  (t) => `<<: { admin: {} }\n${t}`,
  (t) => t.replace(/\{/, '{{'),
  (t) => `%YAML 9.9\n---\n${t}`,
  (t) => `${t}\n---\nnode: {}\n`,
  (t) => t.replace(/ /g, '\u00a0'),
  (t, r) => t.slice(0, r.int(t.length)),
  (t) => `${'['.repeat(5000)}${t}`,
  (t) => `${'- '.repeat(3000)}x`,
  (t) => `x: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n${t}`,
];

export function mutateConfig(index: number, seedFile: string, seedText: string, random: Random): ConfigCase {
  const notes: string[] = [];
  const isJson = seedFile.endsWith('.json');
  if (random.chance(0.75)) {
    const root = (isJson ? JSON.parse(seedText) : parseYamlSeed(seedText)) as Json;
    for (let i = random.range(1, 4); i > 0; i--) notes.push(mutateTree(root, random));
    // Deep nesting goes out as JSON (which is YAML too).
    const ext = random.chance(0.3) || notes.some((n) => n.startsWith('deep')) ? 'json' : 'yaml';
    // Only the first two deep markers are expanded (copies of one would multiply the file).
    let expanded = 0;
    const text = ext === 'json' ? JSON.stringify(root).replace(DEEP, (_m, depth: string) => (expanded++ < 2 ? deepText(Number(depth)) : '1')) : stringify(root, { aliasDuplicateObjects: false, lineWidth: 0 });
    return { index, seedFile, text, ext, notes };
  }
  let text = seedText;
  if (random.chance(0.5)) {
    const corrupt = random.int(YAML_CORRUPTIONS.length);
    text = YAML_CORRUPTIONS[corrupt](text, random);
    notes.push(`yaml corruption ${corrupt}`);
  } else {
    text = mutateBytes(Buffer.from(text), random, random.range(1, 8)).toString('latin1');
    notes.push('bytes');
  }
  return { index, seedFile, text, ext: isJson ? 'json' : 'yaml', notes };
}

/** The seed as plain JSON data (no YAML node types, no shared references). */
function parseYamlSeed(text: string): unknown {
  return JSON.parse(JSON.stringify(parse(text)));
}
