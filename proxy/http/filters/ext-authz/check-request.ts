// The CheckRequest of one request (envoy.service.auth.v3.AttributeContext), as Envoy's
// CheckRequestUtils::createHttpCheck fills it: the connection's peers (addresses, the principal
// from the certificates: URI SAN, else DNS SAN, else subject), the request's method, path, host,
// scheme, protocol, size, its headers (pseudo-headers included, repeated ones joined with ','),
// the buffered body, the route's context extensions and the dynamic metadata of the namespaces
// asked for; for the network filter, a connection's
// peers alone. Plain data in the proto's field names: the gRPC service encodes it, the HTTP
// service reads its headers and body.
import type { Socket } from 'node:net';
import { isTls, peerCertificateDetails } from '../../../transport/index.ts';
import type { StringPredicate } from '../../../router/index.ts';
import type { HttpStream } from '../../stream.ts';
import type { MetadataStruct } from '../../../config/model.ts';
import { toProtoStruct, type ProtoStruct } from '../proto-struct.ts';

export interface Peer {
  address: { socket_address: { address: string; port_value: number } };
  service?: string;
  principal?: string;
  certificate?: string;
}

export interface HttpRequestAttributes {
  id: string;
  method: string;
  headers: Record<string, string>;
  path: string;
  host: string;
  scheme: string;
  size: string; // int64, as a decimal string
  protocol: string;
  body?: string;
  raw_body?: Buffer;
}

export interface CheckRequest {
  attributes: {
    source: Peer;
    destination: Peer;
    /** Absent for a connection's check (the network filter). */
    request?: { time: { seconds: number; nanos: number }; http: HttpRequestAttributes };
    context_extensions: Record<string, string>;
    metadata_context?: { filter_metadata: Record<string, ProtoStruct> };
    tls_session?: { sni: string };
  };
}


export interface CheckRequestOptions {
  includePeerCertificate: boolean;
  includeTlsSession: boolean;
  /** Only headers these match go in (undefined: all). */
  allowed: StringPredicate[] | undefined;
  disallowed: StringPredicate[];
  contextExtensions: Record<string, string>;
  /** metadata_context_namespaces: the request's dynamic metadata of those filters. */
  metadataContext?: Record<string, MetadataStruct>;
  /** The body to send (already limited to max_request_bytes) and whether it is all of it. */
  body?: { data: Buffer; partial: boolean; asBytes: boolean };
}

/** Set on the check when the body it carries is (true) or is not (false) cut short. */
export const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';

let nextId = 1;

export function buildCheckRequest(stream: HttpStream, options: CheckRequestOptions): CheckRequest {
  const connection = stream.connection;
  const { source, destination } = peers(connection.socket, connection.remoteAddress, connection.localAddress, options.includePeerCertificate);
  const head = stream.head;
  const http: HttpRequestAttributes = {
    id: String(nextId++),
    method: head.method,
    headers: checkHeaders(stream, options),
    path: head.path,
    host: first(head.headers.host) ?? '',
    scheme: head.scheme,
    size: String(stream.info.bytesReceived),
    protocol: head.protocol,
  };
  const body = options.body;
  if (body !== undefined) {
    if (body.asBytes) http.raw_body = body.data;
    else http.body = body.data.toString('utf8');
    http.headers[PARTIAL_BODY_HEADER] = body.partial ? 'true' : 'false';
  }
  const startMs = stream.info.startTime;
  const attributes: CheckRequest['attributes'] = {
    source,
    destination,
    request: { time: { seconds: Math.floor(startMs / 1000), nanos: (startMs % 1000) * 1e6 }, http },
    context_extensions: options.contextExtensions,
  };
  if (options.metadataContext !== undefined) {
    const filterMetadata: Record<string, ProtoStruct> = {};
    for (const [namespace, values] of Object.entries(options.metadataContext)) filterMetadata[namespace] = toProtoStruct(values);
    attributes.metadata_context = { filter_metadata: filterMetadata };
  }
  if (options.includeTlsSession) {
    const sni = stream.info.requestedServerName ?? '';
    if (sni !== '') attributes.tls_session = { sni };
  }
  return { attributes };
}

// Envoy's request header map as the check sees it: the pseudo-headers first.
function checkHeaders(stream: HttpStream, options: CheckRequestOptions): Record<string, string> {
  const head = stream.head;
  const out: Record<string, string> = {};
  const add = (name: string, value: string | string[] | undefined): void => {
    if (value === undefined || name === PARTIAL_BODY_HEADER) return;
    if (options.disallowed.some((m) => m(name))) return;
    if (options.allowed !== undefined && !options.allowed.some((m) => m(name))) return;
    out[name] = Array.isArray(value) ? value.join(',') : value;
  };
  add(':authority', head.headers.host);
  add(':path', head.path);
  add(':method', head.method);
  add(':scheme', head.scheme);
  for (const name in head.headers) if (name !== 'host') add(name, head.headers[name]);
  return out;
}

/**
 * A connection's check (Envoy's createTcpCheck): its peers, and the requested server name as the
 * destination's service.
 */
export function buildConnectionCheckRequest(
  socket: Socket,
  remote: string,
  local: string,
  serverName: string,
  options: { includePeerCertificate: boolean; includeTlsSession: boolean },
): CheckRequest {
  const { source, destination } = peers(socket, remote, local, options.includePeerCertificate);
  if (serverName !== '') destination.service = serverName;
  const attributes: CheckRequest['attributes'] = { source, destination, context_extensions: {} };
  if (options.includeTlsSession && serverName !== '') attributes.tls_session = { sni: serverName };
  return { attributes };
}

interface ConnectionPeers {
  source: Peer;
  destination: Peer;
}

// What depends only on the connection (certificates are read once per connection).
const principals = new WeakMap<Socket, { source?: string; destination?: string; certificate?: string }>();

function peers(socket: Socket, remote: string, local: string, includeCertificate: boolean): ConnectionPeers {
  const source: Peer = { address: socketAddress(remote) };
  const destination: Peer = { address: socketAddress(local) };
  if (isTls(socket)) {
    let known = principals.get(socket);
    if (known === undefined) {
      const details = peerCertificateDetails(socket);
      known = {
        source: details === undefined ? undefined : details.uriSans[0] ?? details.dnsSans[0] ?? details.subject,
        destination: details?.localUriSans[0],
        certificate: details?.urlEncodedPem,
      };
      principals.set(socket, known);
    }
    if (known.source !== undefined) source.principal = known.source;
    if (known.destination !== undefined) destination.principal = known.destination;
    if (includeCertificate && known.certificate !== undefined) source.certificate = known.certificate;
  }
  return { source, destination };
}

// 'ip:port' (IPv6 with or without brackets) -> Address.
function socketAddress(address: string): Peer['address'] {
  const colon = address.lastIndexOf(':');
  let ip = colon === -1 ? address : address.slice(0, colon);
  if (ip.startsWith('[')) ip = ip.slice(1, -1);
  return { socket_address: { address: ip, port_value: colon === -1 ? 0 : Number(address.slice(colon + 1)) || 0 } };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
