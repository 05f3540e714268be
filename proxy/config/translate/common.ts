// Helpers shared by the translators. They read *normalised* resources (see schema.ts): keys are
// snake_case, Durations are milliseconds, wrappers are plain values, enums are names.
import { isIP } from 'node:net';
import { ConfigError, indexPath, joinPath } from '../errors.ts';
import type {
  CidrRange,
  GrpcServiceRef,
  HeaderMatcher,
  HeaderMutations,
  HeaderValueOption,
  RuntimeKey,
  SocketAddress,
  StringMatcher,
} from '../model.ts';
import { enumNumber } from '../protos.ts';
import { checkRe2 } from '../regex.ts';
import { readRegularFile } from '../local-file.ts';

export type Raw = Record<string, unknown>;

// Whatever a translator collects besides the resource itself.
export interface TranslateContext {
  warnings: string[];
  // static_resources.secrets by name (raw, with their source paths), for SdsSecretConfig
  // references without an sds_config. Absent for xDS resources: nothing is static there.
  secrets?: ReadonlyMap<string, { raw: Raw; path: string }>;
}

// ---- where model objects came from ----

// Model objects are plain data, so their source field path is kept aside: cross-resource checks
// (validateSnapshot) use it to name the field a dangling reference sits in.
const sourcePaths = new WeakMap<object, string>();

export function recordPath<T extends object>(value: T, path: string): T {
  sourcePaths.set(value, path);
  return value;
}

export function sourcePathOf(value: object): string | undefined {
  return sourcePaths.get(value);
}

// ---- typed reads of normalised values ----

export function obj(raw: Raw, key: string): Raw | undefined {
  return raw[key] as Raw | undefined;
}

export function list(raw: Raw, key: string): Raw[] {
  return (raw[key] as Raw[] | undefined) ?? [];
}

export function strings(raw: Raw, key: string): string[] {
  return (raw[key] as string[] | undefined) ?? [];
}

export function str(raw: Raw, key: string, fallback = ''): string {
  return (raw[key] as string | undefined) ?? fallback;
}

export function num(raw: Raw, key: string, fallback: number): number {
  return (raw[key] as number | undefined) ?? fallback;
}

export function bool(raw: Raw, key: string, fallback: boolean): boolean {
  return (raw[key] as boolean | undefined) ?? fallback;
}

// A Duration in whole milliseconds; a positive sub-millisecond duration stays positive.
export function ms(raw: Raw, key: string, fallback: number): number {
  const value = raw[key] as number | undefined;
  if (value === undefined) return fallback;
  return value > 0 ? Math.max(1, Math.round(value)) : Math.round(value);
}

export function reject(path: string, what: string, hint = 'remove it; see proxy/config/README.md'): never {
  throw new ConfigError(path, what, hint);
}

// ---- percentages ----

const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

// envoy.type.v3.FractionalPercent -> 0-100.
export function fractionalPercent(raw: Raw | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const denominator = DENOMINATORS[str(raw, 'denominator', 'HUNDRED')] ?? 100;
  return Math.min(100, (num(raw, 'numerator', 0) * 100) / denominator);
}

// A FractionalPercent's denominator as a number (a runtime integer is a numerator over it).
export function denominatorOf(raw: Raw | undefined): number {
  return DENOMINATORS[str(raw ?? {}, 'denominator', 'HUNDRED')] ?? 100;
}

// envoy.config.core.v3.RuntimeFractionalPercent: the default's percent (runtimeKeyOf names the
// runtime key that overrides it).
export function runtimeFractionalPercent(raw: Raw | undefined, fallback: number): number {
  return raw === undefined ? fallback : fractionalPercent(obj(raw, 'default_value'), fallback);
}

export function runtimeKeyOf(raw: Raw | undefined): RuntimeKey | undefined {
  const key = str(raw ?? {}, 'runtime_key');
  return key === '' ? undefined : { key, denominator: denominatorOf(obj(raw ?? {}, 'default_value')) };
}

// ---- addresses ----

export function socketAddress(raw: Raw | undefined, path: string, what = 'address', allowPipe = false): SocketAddress {
  if (raw === undefined) reject(path, 'required field is missing', `set ${what}.socket_address with address and port_value`);
  if (raw.envoy_internal_address !== undefined) {
    reject(joinPath(path, 'envoy_internal_address'), 'an internal address is for cluster endpoints only', 'a listener that takes internal connections sets internal_listener: {} and no address');
  }
  const pipe = obj(raw, 'pipe');
  if (pipe !== undefined) {
    const pipePath = joinPath(path, 'pipe');
    if (!allowPipe) reject(pipePath, 'not supported by Legate: a Unix domain socket (pipe) here; pipes are supported for cluster endpoints', 'use socket_address');
    const socketPath = str(pipe, 'path');
    if (socketPath === '' || socketPath === '@') reject(joinPath(pipePath, 'path'), 'required field is missing', 'give the Unix socket\'s path (@name for an abstract socket)');
    return { address: socketPath, port: 0, pipe: true };
  }
  const socket = obj(raw, 'socket_address');
  if (socket === undefined) reject(joinPath(path, 'socket_address'), 'required field is missing', 'set socket_address with address and port_value');
  const socketPath = joinPath(path, 'socket_address');
  if (str(socket, 'protocol', 'TCP') !== 'TCP') reject(joinPath(socketPath, 'protocol'), 'UDP is not supported by Legate', 'use TCP (the default)');
  if (socket.port_value === undefined) reject(joinPath(socketPath, 'port_value'), 'required field is missing', 'set port_value (0-65535)');
  return { address: str(socket, 'address'), port: num(socket, 'port_value', 0) };
}

export function cidrRange(raw: Raw, path: string): CidrRange {
  const addressPrefix = str(raw, 'address_prefix');
  const family = isIP(addressPrefix);
  if (family === 0) reject(joinPath(path, 'address_prefix'), `'${addressPrefix}' is not an IP address`, 'write an IPv4 or IPv6 address such as 10.0.0.0');
  const prefixLen = num(raw, 'prefix_len', 0);
  const max = family === 4 ? 32 : 128;
  if (prefixLen > max) reject(joinPath(path, 'prefix_len'), `prefix length ${prefixLen} is too long for an IPv${family} address`, `use 0-${max}`);
  return { addressPrefix, prefixLen };
}

// ---- matchers ----

export function regexSource(raw: Raw | undefined, path: string): string {
  if (raw === undefined) reject(path, 'required field is missing', 'set regex');
  const pattern = str(raw, 'regex');
  checkRe2(pattern, joinPath(path, 'regex'));
  return pattern;
}

// envoy.type.matcher.v3.StringMatcher
export function stringMatcher(raw: Raw, path: string): StringMatcher {
  const ignoreCase = bool(raw, 'ignore_case', false);
  for (const kind of ['exact', 'prefix', 'suffix', 'contains'] as const) {
    if (raw[kind] !== undefined) return { kind, value: str(raw, kind), ignoreCase };
  }
  if (raw.safe_regex !== undefined) {
    return { kind: 'safe_regex', value: regexSource(obj(raw, 'safe_regex'), joinPath(path, 'safe_regex')), ignoreCase };
  }
  // Envoy treats a matcher with nothing set as exact "".
  return { kind: 'exact', value: '', ignoreCase };
}

// envoy.config.route.v3.HeaderMatcher, including its deprecated *_match fields.
export function headerMatcher(raw: Raw, path: string): HeaderMatcher {
  const base = {
    name: str(raw, 'name').toLowerCase(),
    value: '',
    ignoreCase: false,
    presentMatch: false,
    invertMatch: bool(raw, 'invert_match', false),
    treatMissingHeaderAsEmpty: bool(raw, 'treat_missing_header_as_empty', false),
  };
  const legacy: Record<string, 'exact' | 'prefix' | 'suffix' | 'contains'> = {
    exact_match: 'exact',
    prefix_match: 'prefix',
    suffix_match: 'suffix',
    contains_match: 'contains',
  };
  for (const [field, kind] of Object.entries(legacy)) {
    if (raw[field] !== undefined) return { ...base, kind, value: str(raw, field) };
  }
  if (raw.safe_regex_match !== undefined) {
    return { ...base, kind: 'safe_regex', value: regexSource(obj(raw, 'safe_regex_match'), joinPath(path, 'safe_regex_match')) };
  }
  if (raw.string_match !== undefined) {
    const m = stringMatcher(obj(raw, 'string_match') as Raw, joinPath(path, 'string_match'));
    return { ...base, kind: m.kind, value: m.value, ignoreCase: m.ignoreCase };
  }
  const range = obj(raw, 'range_match');
  if (range !== undefined) {
    const start = num(range, 'start', 0);
    const end = num(range, 'end', 0);
    if (end <= start) reject(joinPath(path, 'range_match'), `empty range [${start}, ${end})`, 'end must be greater than start');
    return { ...base, kind: 'range', range: { start, end } };
  }
  // present_match, or nothing at all: Envoy then matches on the header's presence.
  return { ...base, kind: 'present', presentMatch: bool(raw, 'present_match', true) };
}

export function headerMatchers(raw: Raw, key: string, path: string): HeaderMatcher[] {
  return list(raw, key).map((h, i) => headerMatcher(h, indexPath(joinPath(path, key), i)));
}

// ---- header mutations ----

// Envoy refuses to let config add or remove pseudo-headers and Host this way.
function checkMutableHeader(name: string, path: string): void {
  if (name.startsWith(':') || name === 'host') {
    reject(path, `header '${name}' cannot be modified here`, 'pseudo-headers and host are set by Envoy; use host_rewrite_* for Host');
  }
}

export function headerValueOption(raw: Raw, path: string): HeaderValueOption {
  const header = obj(raw, 'header') as Raw;
  const headerPath = joinPath(path, 'header');
  const key = str(header, 'key').toLowerCase();
  checkMutableHeader(key, joinPath(headerPath, 'key'));
  let value = str(header, 'value');
  if (header.raw_value !== undefined) {
    if (header.value !== undefined) reject(joinPath(headerPath, 'raw_value'), 'only one of value and raw_value may be set', 'keep one');
    value = Buffer.from(str(header, 'raw_value'), 'base64').toString('utf8');
  }
  if (raw.append !== undefined && raw.append_action !== undefined) {
    reject(joinPath(path, 'append'), 'append and append_action cannot both be set', 'keep append_action (append is deprecated)');
  }
  let appendAction = (raw.append_action as HeaderValueOption['appendAction'] | undefined) ?? 'APPEND_IF_EXISTS_OR_ADD';
  if (raw.append === false) appendAction = 'OVERWRITE_IF_EXISTS_OR_ADD';
  return { key, value, appendAction, keepEmptyValue: bool(raw, 'keep_empty_value', false) };
}

export function headerValueOptions(raw: Raw, key: string, path: string): HeaderValueOption[] {
  return list(raw, key).map((h, i) => headerValueOption(h, indexPath(joinPath(path, key), i)));
}

function headerNames(raw: Raw, key: string, path: string): string[] {
  return strings(raw, key).map((name, i) => {
    const lower = name.toLowerCase();
    checkMutableHeader(lower, indexPath(joinPath(path, key), i));
    return lower;
  });
}

// The four *_headers_to_add/remove fields that route configs, virtual hosts, routes and weighted
// clusters share.
export function headerMutations(raw: Raw, path: string): HeaderMutations {
  return {
    requestHeadersToAdd: headerValueOptions(raw, 'request_headers_to_add', path),
    requestHeadersToRemove: headerNames(raw, 'request_headers_to_remove', path),
    responseHeadersToAdd: headerValueOptions(raw, 'response_headers_to_add', path),
    responseHeadersToRemove: headerNames(raw, 'response_headers_to_remove', path),
  };
}

// ---- data sources ----

// envoy.config.core.v3.DataSource as text.
export function dataSourceText(raw: Raw, path: string): string {
  if (raw.inline_string !== undefined) return str(raw, 'inline_string');
  if (raw.inline_bytes !== undefined) return Buffer.from(str(raw, 'inline_bytes'), 'base64').toString('utf8');
  if (raw.filename !== undefined) {
    const file = str(raw, 'filename');
    try {
      return readRegularFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return reject(joinPath(path, 'filename'), `cannot read '${file}' (${code})`, 'check the path');
    }
  }
  if (raw.environment_variable !== undefined) {
    const name = str(raw, 'environment_variable');
    const value = process.env[name];
    if (value === undefined) reject(joinPath(path, 'environment_variable'), `environment variable '${name}' is not set`, 'set it or use inline_string');
    return value;
  }
  return reject(path, 'the data source is empty', 'set inline_string, inline_bytes, filename or environment_variable');
}

// ---- gRPC services ----

// envoy.config.core.v3.GrpcService: an Envoy-managed cluster or a Google gRPC target.
export function grpcService(raw: Raw, path: string): GrpcServiceRef {
  const envoyGrpc = obj(raw, 'envoy_grpc');
  const googleGrpc = obj(raw, 'google_grpc');
  if (envoyGrpc === undefined && googleGrpc === undefined) {
    reject(path, 'one of envoy_grpc or google_grpc is required', 'name the cluster of the gRPC server in envoy_grpc.cluster_name');
  }
  const service: GrpcServiceRef = {
    timeoutMs: ms(raw, 'timeout', 0),
    initialMetadata: list(raw, 'initial_metadata').map((h) => ({ key: str(h, 'key').toLowerCase(), value: str(h, 'value') })),
  };
  if (envoyGrpc !== undefined) {
    service.clusterName = str(envoyGrpc, 'cluster_name');
    const authority = str(envoyGrpc, 'authority');
    if (authority !== '') service.authority = authority;
  }
  if (googleGrpc !== undefined) service.targetUri = str(googleGrpc, 'target_uri');
  return service;
}

// Legate speaks only v3 of the xDS and rate limit service APIs.
export function checkApiVersion(raw: Raw, key: string, path: string): void {
  const version = raw[key] as string | undefined;
  if (version !== undefined && version !== 'V3') {
    reject(joinPath(path, key), `API version ${version} is not supported`, 'use V3 (the only version Envoy still serves)');
  }
}

// envoy.type.v3.HttpStatus -> the status number.
export function httpStatus(raw: Raw, key: string, fallback: number, path: string): number {
  const status = obj(raw, key);
  if (status === undefined) return fallback;
  const code = enumNumber('envoy.type.v3.StatusCode', str(status, 'code'));
  if (code === undefined || code < 100) reject(joinPath(path, `${key}.code`), 'required field is missing', 'set code to an HTTP status such as TooManyRequests');
  return code;
}
