// Envoy's substitution formatter: format strings with %COMMAND(ARG):LENGTH% operators, compiled
// once into a list of parts so logging a request only runs the part getters. Text lines print a
// missing value as '-'; JSON lines (json_format) keep an operator's type when a value is that one
// operator (numbers stay numbers, a missing value is null) and sort the keys, as Envoy does.
import { hostname } from 'node:os';
import type { AccessLogFormat, MetadataValue } from '../config/model.ts';
import { compileGrpcStatus } from './grpc-status.ts';
import { metadataValueAt } from './metadata-value.ts';
import { formatResponseFlags } from './response-flags.ts';
import { compileStartTime } from './start-time.ts';
import type { HeaderMap, StreamInfo } from './stream-info.ts';

type Value = string | number | undefined;
/** A getter with `typed`: a json_format value that is this operator alone keeps its JSON type. */
type Getter = ((info: StreamInfo) => Value) & { typed?: (info: StreamInfo) => MetadataValue | undefined };
type Part = string | Getter;

/** Envoy's default access log format (used when a logger gives none). */
export const DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  '%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ' +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% ' +
  '"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** Compiles an access log format into a function producing one log line (with its newline). */
export function compileFormat(format: AccessLogFormat): (info: StreamInfo) => string {
  if (format.kind === 'text') return joinParts(parseTemplate(format.template), '-');
  const object = compileJsonObject(format.fields, 'json_format');
  return (info) => object(info) + '\n';
}

/**
 * Compiles a header value template (request_headers_to_add and friends): a missing value is
 * empty, as Envoy's header formatter leaves it.
 */
export function compileTemplate(template: string): (info: StreamInfo) => string {
  return joinParts(parseTemplate(template), '');
}

/** The error a format would raise at compile time, or null when it is valid. */
export function validateFormat(format: string | AccessLogFormat): string | null {
  try {
    if (typeof format === 'string') parseTemplate(format);
    else compileFormat(format);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function joinParts(parts: Part[], missing: string): (info: StreamInfo) => string {
  if (parts.every((p) => typeof p === 'string')) {
    const constant = parts.join('');
    return () => constant;
  }
  return (info) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (typeof p === 'string') out += p;
      else {
        const v = p(info);
        out += v === undefined ? missing : v;
      }
    }
    return out;
  };
}

// ---- JSON ----

function compileJsonObject(fields: Record<string, unknown>, where: string): (info: StreamInfo) => string {
  const entries = Object.keys(fields)
    .sort()
    .map((key) => ({ prefix: JSON.stringify(key) + ':', value: compileJsonValue(fields[key], `${where}.${key}`) }));
  return (info) => {
    let out = '{';
    for (let i = 0; i < entries.length; i++) out += (i === 0 ? '' : ',') + entries[i].prefix + entries[i].value(info);
    return out + '}';
  };
}

function compileJsonValue(value: unknown, where: string): (info: StreamInfo) => string {
  if (typeof value === 'string') {
    const parts = parseTemplate(value);
    if (parts.length === 1 && typeof parts[0] !== 'string') {
      const getter = parts[0];
      const typed = getter.typed;
      if (typed !== undefined) return (info) => JSON.stringify(typed(info) ?? null);
      return (info) => jsonValue(getter(info));
    }
    const text = joinParts(parts, '-');
    return (info) => JSON.stringify(text(info));
  }
  if (typeof value === 'number') {
    const constant = jsonValue(value);
    return () => constant;
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileJsonValue(v, `${where}[${i}]`));
    return (info) => '[' + items.map((item) => item(info)).join(',') + ']';
  }
  if (value !== null && typeof value === 'object') return compileJsonObject(value as Record<string, unknown>, where);
  throw new Error(`access log json_format: ${where} must be a format string, a number, a list or a nested object`);
}

function jsonValue(v: Value): string {
  if (v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return JSON.stringify(v);
}

// ---- parsing ----

// Envoy's command syntax: %COMMAND%, %COMMAND(SUBCOMMAND)%, either with :LENGTH.
const COMMAND = /%([A-Z0-9_]+)(?:\((.*?)\))?(?::([0-9]+))?%/y;

function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let pos = 0;
  while (pos < template.length) {
    const c = template[pos];
    if (c !== '%') {
      literal += c;
      pos++;
      continue;
    }
    if (template[pos + 1] === '%') {
      literal += '%';
      pos += 2;
      continue;
    }
    COMMAND.lastIndex = pos;
    const m = COMMAND.exec(template);
    if (m === null) {
      throw new Error(`access log format: no valid %COMMAND% at position ${pos} of ${JSON.stringify(template)} (write %% for a literal %)`);
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(makeOperator(m[1], m[2], m[3] === undefined ? undefined : Number(m[3]), template));
    pos += m[0].length;
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

type ArgRule = 'none' | 'required' | 'optional';

interface OperatorDef {
  args: ArgRule;
  make(arg: string): Getter;
}

function makeOperator(command: string, arg: string | undefined, maxLength: number | undefined, template: string): Getter {
  const def = OPERATORS[command];
  if (def === undefined) {
    throw new Error(`access log format: unknown command operator %${command}% in ${JSON.stringify(template)}`);
  }
  if (def.args === 'none' && arg !== undefined) {
    throw new Error(`access log format: %${command}% takes no argument, got (${arg}) in ${JSON.stringify(template)}`);
  }
  if (def.args === 'required' && (arg === undefined || arg === '')) {
    throw new Error(`access log format: %${command}(...)% needs an argument in ${JSON.stringify(template)}`);
  }
  const getter = def.make(arg ?? '');
  if (maxLength === undefined) return getter;
  return (info) => {
    const v = getter(info);
    return typeof v === 'string' ? v.slice(0, maxLength) : v;
  };
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

function headerValue(map: HeaderMap | undefined, name: string): string | undefined {
  const v = map?.[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v[0]; // Envoy logs the first of repeated headers
  return typeof v === 'string' ? v : String(v);
}

/** REQ(X?Y) / RESP(X?Y) / TRAILER(X?Y): the first header present, else the alternative. */
function headerOperator(lookup: (name: string) => Getter): OperatorDef {
  return {
    args: 'required',
    make(arg) {
      const names = arg.split('?');
      if (names.length > 2) throw new Error(`access log format: more than one alternative header in (${arg})`);
      const main = lookup(names[0].toLowerCase());
      if (names.length === 1) return main;
      const alternative = lookup(names[1].toLowerCase());
      return (info) => main(info) ?? alternative(info);
    },
  };
}

function requestHeader(name: string): Getter {
  const fromMap = (info: StreamInfo) => headerValue(info.requestHeaders, name);
  switch (name) {
    case ':method':
      return (info) => nonEmpty(info.method) ?? fromMap(info);
    case ':path':
      return (info) => nonEmpty(info.path) ?? fromMap(info);
    case ':scheme':
      return (info) => nonEmpty(info.scheme) ?? fromMap(info);
    case ':authority':
      return (info) => nonEmpty(info.authority) ?? fromMap(info) ?? headerValue(info.requestHeaders, 'host');
    default:
      return fromMap;
  }
}

function responseHeader(name: string): Getter {
  if (name === ':status') return (info) => (info.responseCode === 0 ? undefined : String(info.responseCode));
  return (info) => headerValue(info.responseHeaders, name);
}

function withoutQuery(getter: Getter): Getter {
  return (info) => {
    const v = getter(info);
    if (typeof v !== 'string') return v;
    const q = v.indexOf('?');
    return q < 0 ? v : v.slice(0, q);
  };
}

// Addresses are kept as 'ip:port'; Envoy prints IPv6 in brackets, and without brackets when
// the port is left out.
function splitAddress(address: string | undefined): { ip: string; port: string } | undefined {
  if (address === undefined || address === '') return undefined;
  const colon = address.lastIndexOf(':');
  if (colon < 0 || address.endsWith(']')) return { ip: unbracket(address), port: '' };
  return { ip: unbracket(address.slice(0, colon)), port: address.slice(colon + 1) };
}

function unbracket(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}

function addressWithPort(read: (info: StreamInfo) => string | undefined): Getter {
  return (info) => {
    const address = read(info);
    if (address === undefined || address === '') return undefined;
    // IPv4 'ip:port', a name, or IPv6 already in brackets: as given.
    if (address.indexOf(':') === address.lastIndexOf(':') || address[0] === '[') return address;
    const a = splitAddress(address)!;
    return `[${a.ip}]:${a.port}`;
  };
}

function addressOperators(name: string, read: (info: StreamInfo) => string | undefined): Record<string, OperatorDef> {
  return {
    [name]: simple(addressWithPort(read)),
    [name + '_WITHOUT_PORT']: simple((info) => splitAddress(read(info))?.ip),
  };
}

function portOperator(read: (info: StreamInfo) => string | undefined): OperatorDef {
  return simple((info) => {
    const port = splitAddress(read(info))?.port;
    return port === undefined || port === '' ? undefined : Number(port);
  });
}

function simple(getter: Getter): OperatorDef {
  return { args: 'none', make: () => getter };
}

function duration(read: (info: StreamInfo) => number | undefined): OperatorDef {
  return simple((info) => {
    const ms = read(info);
    return ms === undefined ? undefined : Math.floor(ms);
  });
}

/**
 * %FILTER_STATE(KEY:PLAIN)%, %FILTER_STATE(KEY:TYPED)% (the default) and
 * %FILTER_STATE(KEY:FIELD:NAME)%. Legate's objects are strings and addresses: PLAIN is their text,
 * TYPED the text as a JSON string (Envoy's StringValue), FIELD an address's ip or port.
 */
function filterStateOperator(arg: string): Getter {
  const [key, mode = 'TYPED', field, ...rest] = arg.split(':');
  const bad = (why: string): never => {
    throw new Error(`access log format: %FILTER_STATE(${arg})% ${why}`);
  };
  if (key === '' || rest.length > 0) bad('takes KEY, KEY:PLAIN, KEY:TYPED or KEY:FIELD:NAME');
  if (mode === 'PLAIN') return (info) => info.filterState?.get(key)?.asString();
  if (mode === 'TYPED') {
    return (info) => {
      const text = info.filterState?.get(key)?.asString();
      return text === undefined ? undefined : JSON.stringify(text);
    };
  }
  if (mode !== 'FIELD' || field === undefined || field === '') return bad('takes KEY, KEY:PLAIN, KEY:TYPED or KEY:FIELD:NAME');
  return (info) => info.filterState?.get(key)?.field?.(field);
}

/**
 * %DYNAMIC_METADATA(NAMESPACE:KEY:...:KEY)%: the value at that path of a filter's dynamic metadata
 * (the whole namespace without keys). As Envoy prints it: a string bare, anything else as JSON; in
 * json_format a lone operator keeps the value's JSON type. A missing value is '-' (null in JSON).
 */
function dynamicMetadataOperator(arg: string): Getter {
  const [namespace, ...path] = arg.split(':');
  if (namespace === '' || path.includes('')) throw new Error(`access log format: %DYNAMIC_METADATA(${arg})% takes NAMESPACE or NAMESPACE:KEY:...:KEY`);
  const typed = (info: StreamInfo): MetadataValue | undefined => metadataValueAt(info.dynamicMetadata, namespace, path);
  const getter: Getter = (info) => {
    const value = typed(info);
    return value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
  };
  getter.typed = typed;
  return getter;
}

const HOSTNAME = hostname();

const OPERATORS: Record<string, OperatorDef> = {
  START_TIME: {
    args: 'optional',
    make(arg) {
      const format = compileStartTime(arg);
      return (info) => format(info.startTime);
    },
  },
  REQ: headerOperator(requestHeader),
  REQ_WITHOUT_QUERY: {
    args: 'required',
    make: (arg) => withoutQuery(headerOperator(requestHeader).make(arg)),
  },
  RESP: headerOperator(responseHeader),
  TRAILER: headerOperator((name) => (info) => headerValue(info.responseTrailers, name)),
  RESPONSE_CODE: simple((info) => info.responseCode),
  GRPC_STATUS: { args: 'optional', make: compileGrpcStatus },
  RESPONSE_CODE_DETAILS: simple((info) => nonEmpty(info.responseCodeDetails)),
  CONNECTION_TERMINATION_DETAILS: simple((info) => nonEmpty(info.connectionTerminationDetails)),
  RESPONSE_FLAGS: simple((info) => formatResponseFlags(info.responseFlags)),
  BYTES_RECEIVED: simple((info) => info.bytesReceived),
  BYTES_SENT: simple((info) => info.bytesSent),
  DURATION: duration((info) => info.durationMs),
  REQUEST_DURATION: duration((info) => info.requestDurationMs),
  RESPONSE_DURATION: duration((info) => info.responseDurationMs),
  RESPONSE_TX_DURATION: duration((info) =>
    info.durationMs === undefined || info.responseDurationMs === undefined ? undefined : info.durationMs - info.responseDurationMs,
  ),
  UPSTREAM_HOST: simple(addressWithPort((info) => info.upstreamHost)),
  ...addressOperators('UPSTREAM_REMOTE_ADDRESS', (info) => info.upstreamHost),
  UPSTREAM_CLUSTER: simple((info) => nonEmpty(info.upstreamCluster)),
  UPSTREAM_CLUSTER_RAW: simple((info) => nonEmpty(info.upstreamCluster)),
  ...addressOperators('UPSTREAM_LOCAL_ADDRESS', (info) => info.upstreamLocalAddress),
  // Envoy replaces spaces so the reason stays one token of a text log line.
  UPSTREAM_TRANSPORT_FAILURE_REASON: simple((info) => nonEmpty(info.upstreamTransportFailureReason)?.replaceAll(' ', '_')),
  ...addressOperators('DOWNSTREAM_REMOTE_ADDRESS', (info) => info.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_PORT: portOperator((info) => info.downstreamRemoteAddress),
  ...addressOperators('DOWNSTREAM_DIRECT_REMOTE_ADDRESS', (info) => info.downstreamDirectRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_PORT: portOperator((info) => info.downstreamDirectRemoteAddress),
  ...addressOperators('DOWNSTREAM_LOCAL_ADDRESS', (info) => info.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_PORT: portOperator((info) => info.downstreamLocalAddress),
  REQUESTED_SERVER_NAME: simple((info) => nonEmpty(info.requestedServerName)),
  DOWNSTREAM_TLS_VERSION: simple((info) => nonEmpty(info.downstreamTlsVersion)),
  DOWNSTREAM_PEER_URI_SAN: simple((info) => nonEmpty(info.downstreamPeerUriSan)),
  DOWNSTREAM_PEER_SUBJECT: simple((info) => nonEmpty(info.downstreamPeerSubject)),
  DOWNSTREAM_LOCAL_URI_SAN: simple((info) => nonEmpty(info.downstreamLocalCertificate?.localUriSans.join(','))),
  FILTER_STATE: { args: 'required', make: filterStateOperator },
  DYNAMIC_METADATA: { args: 'required', make: dynamicMetadataOperator },
  PROTOCOL: simple((info) => nonEmpty(info.protocol)),
  ROUTE_NAME: simple((info) => nonEmpty(info.routeName)),
  CONNECTION_ID: simple((info) => info.connectionId),
  UPSTREAM_REQUEST_ATTEMPT_COUNT: simple((info) => info.attemptCount),
  HOSTNAME: simple(() => HOSTNAME),
};
