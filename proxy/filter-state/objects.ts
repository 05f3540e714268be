// The filter state objects Legate builds, and Envoy's object factories by name: what
// set_filter_state's factory_key (or its object_key, for the well-known keys) creates from the
// formatted bytes. A factory that cannot parse the bytes makes no object (Envoy: the value is
// skipped). A factory Legate does not have is refused at config time, as Envoy refuses it.
import { isIP } from 'node:net';

export interface FilterStateObject {
  /** Envoy's serializeAsString: what %FILTER_STATE(KEY:PLAIN)% prints and string matchers see. */
  asString(): string | undefined;
  /** Set on objects that are Envoy Hashables: sharing one separates connection pools. */
  readonly hashKey?: string;
  /** Envoy's field accessor (%FILTER_STATE(KEY:FIELD:NAME)%), for objects that have fields. */
  field?(name: string): string | number | undefined;
}

/** Envoy's Router::StringAccessor (envoy.string) and Istio's hashable string. */
export class StringAccessor implements FilterStateObject {
  readonly value: string;
  readonly hashKey: string | undefined;

  constructor(value: string, hashable = false) {
    this.value = value;
    this.hashKey = hashable ? value : undefined;
  }

  asString(): string {
    return this.value;
  }
}

/** Envoy's Network::AddressObject: an IP and port ("ip:port", IPv6 in brackets), hashable. */
export class AddressObject implements FilterStateObject {
  readonly ip: string;
  readonly port: number;
  readonly hashKey: string;

  constructor(ip: string, port: number) {
    this.ip = ip;
    this.port = port;
    this.hashKey = this.asString();
  }

  /** "ip:port" or "[ipv6]:port"; undefined when it is not one. */
  static parse(text: string): AddressObject | undefined {
    const m = /^(?:\[([^\]]+)\]|([^:\]]+)):(\d{1,5})$/.exec(text);
    if (m === null) return undefined;
    const ip = m[1] ?? m[2];
    const port = Number(m[3]);
    const family = isIP(ip);
    if (family === 0 || (family === 6) !== (m[1] !== undefined) || port > 65535) return undefined;
    return new AddressObject(ip, port);
  }

  asString(): string {
    return isIP(this.ip) === 6 ? `[${this.ip}]:${this.port}` : `${this.ip}:${this.port}`;
  }

  field(name: string): string | number | undefined {
    if (name === 'ip') return this.ip;
    if (name === 'port') return this.port;
    return undefined;
  }
}

/**
 * Istio's Authority (istio.set_internal_dst_address): the CONNECT authority connect_authority saw,
 * and the tunnel port that replaces its port when not 0. Hashable by its text, as Istio's.
 */
export class ConnectAuthority implements FilterStateObject {
  readonly value: string;
  readonly port: number;
  readonly hashKey: string;

  constructor(value: string, port: number) {
    this.value = value;
    this.port = port;
    this.hashKey = value;
  }

  asString(): string {
    return this.value;
  }
}

type Factory = (bytes: string) => FilterStateObject | undefined;

const stringFactory: Factory = (bytes) => new StringAccessor(bytes);
const hashableStringFactory: Factory = (bytes) => new StringAccessor(bytes, true);
const addressFactory: Factory = (bytes) => AddressObject.parse(bytes);

/**
 * The factories by name. The well-known keys are factories of the same name; each is here only
 * when Legate reads the key where Envoy does (an object nothing reads would be accepted and ignored).
 */
/** The well-known keys Legate reads, each named once (the factory table and its reader use it). */
export const ORIGINAL_DST_LOCAL_IP_KEY = 'envoy.filters.listener.original_dst.local_ip';
export const ORIGINAL_DST_REMOTE_IP_KEY = 'envoy.filters.listener.original_dst.remote_ip';
export const ORIGINAL_DST_ADDRESS_KEY = 'envoy.network.transport_socket.original_dst_address';
export const UPSTREAM_SERVER_NAME_KEY = 'envoy.network.upstream_server_name';
export const APPLICATION_PROTOCOLS_KEY = 'envoy.network.application_protocols';
export const TCP_PROXY_CLUSTER_KEY = 'envoy.tcp_proxy.cluster';
/** Istio's connect_authority sets it (no factory makes it); set_internal_dst_address reads it. */
export const CONNECT_AUTHORITY_KEY = 'istio.set_internal_dst_address';

const FACTORIES: ReadonlyMap<string, Factory> = new Map([
  ['envoy.string', stringFactory],
  ['istio.hashable_string', hashableStringFactory],
  // The original_dst listener filter on an internal listener's connection.
  [ORIGINAL_DST_LOCAL_IP_KEY, addressFactory],
  [ORIGINAL_DST_REMOTE_IP_KEY, addressFactory],
  // An ORIGINAL_DST cluster's host, before anything else (upstream/original-dst-cluster.ts).
  [ORIGINAL_DST_ADDRESS_KEY, addressFactory],
  // The upstream TLS connection's SNI and ALPN (upstream/tls-from-filter-state.ts).
  [UPSTREAM_SERVER_NAME_KEY, stringFactory],
  [APPLICATION_PROTOCOLS_KEY, stringFactory],
  // tcp_proxy's cluster for this connection, in place of its configured one.
  [TCP_PROXY_CLUSTER_KEY, stringFactory],
]);

/** Whether a factory of that name exists (set_filter_state's factory_key, or its object_key). */
export function hasObjectFactory(name: string): boolean {
  return FACTORIES.has(name);
}

/** The names Legate has, for error messages. */
export function objectFactoryNames(): string[] {
  return [...FACTORIES.keys()];
}

/** The object the named factory makes of `bytes`; undefined when they do not parse (or no such factory). */
export function createObject(factory: string, bytes: string): FilterStateObject | undefined {
  return FACTORIES.get(factory)?.(bytes);
}
