// The downstream address of a request and whether it is internal, decided as Envoy's
// ConnectionManagerUtility::mutateRequestHeaders does (source/common/http/conn_manager_utility.cc,
// with Utility::getLastAddressFromXFF and appendXff from source/common/http/utility.cc and the
// default XFF original-IP detection of source/extensions/http/original_ip_detection/xff/xff.cc),
// together with the header mutations that go with it: x-forwarded-for, x-forwarded-proto,
// x-envoy-internal, x-envoy-external-address and the x-envoy-* control headers an external request
// may not carry. The connection manager calls mutateDownstreamAddress once per request, after
// hop-by-hop removal; its config is compiled once per HCM config by compileDownstreamAddressConfig.
//
// Envoy's rules, in order:
//  1. x-envoy-internal is removed from every request (it is set again below when internal).
//  2. use_remote_address: the trusted client address is the peer, or with xff_num_trusted_hops N > 0
//     the Nth address from the right of the incoming XFF (the peer when XFF has fewer than N valid
//     entries). Unless skip_xff_append, the peer is appended to XFF (comma, no space), or the
//     proxy's own address when the peer is loopback. x-forwarded-proto is overwritten with the
//     connection's scheme unless N > 0 and the downstream already sent one. Only a request that came
//     without any XFF can be internal.
//  3. Otherwise: the trusted client address is the (N+1)th address from the right of XFF; the
//     request can be internal only when XFF holds exactly one address and N = 0. Without a usable
//     address the peer stands in for logging, but the request is external.
//  4. x-forwarded-proto is set from the connection when absent.
//  5. internal = the check above holds and internal_address_config says the trusted address is
//     internal (by default nothing is: see internal-address.ts). Internal requests get
//     x-envoy-internal: true; external ones lose the control headers (headers.ts), and edge ones
//     (external with use_remote_address) also the edge-only ones, and get x-envoy-external-address
//     set to the trusted address.
import { isIPv6, SocketAddress, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { HttpConnectionManager } from '../config/model.ts';
import type { ConnectionFacts } from '../listener/index.ts';
import { removeEnvoyControlHeaders, type HeaderMap } from './headers.ts';
import { compileInternalAddressConfig, isLoopbackAddress, mappedIPv4, parseIPv4, type InternalAddressMatcher } from './internal-address.ts';

export interface DownstreamAddressConfig {
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
  readonly internal: InternalAddressMatcher;
  readonly localAddress: string; // appended to XFF in place of a loopback peer
}

export interface DownstreamAddressVerdict {
  /** The trusted client address (an IP without port), or '' when there is none (a unix socket peer). */
  remoteAddress: string;
  /** True when remoteAddress came from XFF (Envoy reports it with port 0), false when it is the peer's. */
  fromXff: boolean;
  /** Internal per Envoy: the request may carry x-envoy-* control headers (stream.trustedDownstream). */
  internal: boolean;
  /** External and use_remote_address: the first hop into the trusted network. Envoy regenerates x-request-id on these unless preserve_external_request_id. */
  edge: boolean;
}

type HcmAddressFields = Pick<HttpConnectionManager, 'useRemoteAddress' | 'xffNumTrustedHops' | 'skipXffAppend' | 'internalAddressConfig'>;

/** Compiles the HCM fields the decision needs (CIDR ranges parsed here, not per request). */
export function compileDownstreamAddressConfig(hcm: HcmAddressFields, localAddress: string = serverLocalAddress()): DownstreamAddressConfig {
  return {
    useRemoteAddress: hcm.useRemoteAddress,
    xffNumTrustedHops: hcm.xffNumTrustedHops,
    skipXffAppend: hcm.skipXffAppend,
    internal: compileInternalAddressConfig(hcm.internalAddressConfig),
    localAddress,
  };
}

/**
 * Decides the request's downstream address and internal/external status and mutates `headers`
 * (lower-case names) accordingly. `peer` is the connection's remote address as Node reports it
 * (IPv4-mapped IPv6 is read as IPv4; undefined or '' for a unix socket); `secure` is whether the
 * downstream connection is TLS (x-forwarded-proto https).
 */
export function mutateDownstreamAddress(config: DownstreamAddressConfig, headers: HeaderMap, peer: string | undefined, secure = false): DownstreamAddressVerdict {
  const peerIp = peerAddress(peer);
  const scheme = secure ? 'https' : 'http';
  const hops = config.xffNumTrustedHops;
  if (headers['x-envoy-internal'] !== undefined) delete headers['x-envoy-internal'];

  const rawXff = headers['x-forwarded-for'];
  const xff = rawXff === undefined ? undefined : typeof rawXff === 'string' ? rawXff : Array.isArray(rawXff) ? rawXff.join(',') : String(rawXff);
  let remote: string | undefined;
  let mayBeInternal: boolean;
  if (config.useRemoteAddress) {
    mayBeInternal = xff === undefined;
    if (hops > 0 && xff !== undefined) remote = addressFromRight(xff, hops - 1);
    if (!config.skipXffAppend && peerIp !== undefined) {
      const appended = isLoopbackAddress(peerIp) ? config.localAddress : peerIp;
      headers['x-forwarded-for'] = xff === undefined || xff === '' ? appended : `${xff},${appended}`;
    }
    if (hops === 0 || headers['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = scheme;
  } else {
    remote = xff === undefined ? undefined : addressFromRight(xff, hops);
    mayBeInternal = remote !== undefined && hops === 0 && xff!.indexOf(',') === -1;
  }
  if (headers['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = scheme;

  const fromXff = remote !== undefined;
  // With use_remote_address only an XFF-less request gets here, judged by its peer (a unix socket
  // peer by unix_sockets); otherwise by its single XFF address.
  const internal = mayBeInternal && config.internal.isInternal(fromXff ? remote : peerIp);
  if (remote === undefined) remote = peerIp;
  const edge = !internal && config.useRemoteAddress;
  if (internal) {
    headers['x-envoy-internal'] = 'true';
  } else {
    removeEnvoyControlHeaders(headers, edge);
    if (edge && remote !== undefined) headers['x-envoy-external-address'] = remote;
  }
  return { remoteAddress: remote ?? '', fromXff, internal, edge };
}

/**
 * Envoy's getLastAddressFromXFF: skips `skip` entries from the right of XFF and returns the entry
 * before them if it is a valid IP (whitespace around it trimmed; IPv6 in canonical form), else
 * undefined.
 */
function addressFromRight(xff: string, skip: number): string | undefined {
  let end = xff.length;
  for (let i = 0; i < skip; i++) {
    const comma = end === 0 ? -1 : xff.lastIndexOf(',', end - 1);
    if (comma === -1) return undefined;
    end = comma;
  }
  let start = end === 0 ? 0 : xff.lastIndexOf(',', end - 1) + 1;
  while (start < end && isSpace(xff.charCodeAt(start))) start++;
  while (end > start && isSpace(xff.charCodeAt(end - 1))) end--;
  if (start === end) return undefined;
  if (parseIPv4(xff, start, end) >= 0) return start === 0 && end === xff.length ? xff : xff.slice(start, end);
  const text = xff.slice(start, end);
  return isIPv6(text) && text.indexOf('%') === -1 ? canonicalIPv6(text) : undefined;
}

// Envoy trims what absl's ascii whitespace covers: space, \t, \n, \v, \f, \r.
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function canonicalIPv6(text: string): string {
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

/** The peer as Envoy sees it: IPv4-mapped IPv6 (Node on a dual-stack socket) read as IPv4; no IP for a unix socket. */
function peerAddress(peer: string | undefined): string | undefined {
  // A unix socket peer has none; an internal listener's peer is envoy://internal_client_address/,
  // which is no IP either: Envoy appends only IP addresses to XFF.
  if (peer === undefined || peer === '' || peer.startsWith('envoy://')) return undefined;
  return mappedIPv4(peer) >= 0 ? peer.slice(7) : peer;
}

/** A connection's address as the access log shows it: ip:port, or an internal address alone (envoy://name/id). */
export function connectionAddressText(address: string | undefined, port: number | undefined): string {
  return address !== undefined && address.startsWith('envoy://') ? address : `${address}:${port}`;
}

/**
 * The connection's direct peer IP. The listener asked the accepted socket once (its facts); a
 * TLSSocket on it is another object, and asking it again costs another getpeername.
 */
export function peerIp(socket: Socket, facts: ConnectionFacts | undefined): string | undefined {
  return facts?.directSourceIp || socket.remoteAddress;
}

/** The connection's peer as the access log shows it; on an internal connection, the one original_dst restored from remote_ip. */
export function connectionPeerText(socket: Socket, facts: ConnectionFacts | undefined): string {
  const address = peerIp(socket, facts);
  if (facts !== undefined && facts.sourcePort !== 0 && address !== undefined && address.startsWith('envoy://')) return `${facts.sourceIp}:${facts.sourcePort}`;
  return connectionAddressText(address, facts?.directSourceIp ? facts.sourcePort : socket.remotePort);
}

let localAddressCache: string | undefined;

/**
 * The proxy's own address, as Envoy's LocalInfo has it (Network::Utility::getLocalAddress): the
 * first IPv4 interface address that is not 127.0.0.1, or 127.0.0.1 when there is none.
 */
export function serverLocalAddress(): string {
  if (localAddressCache !== undefined) return localAddressCache;
  let found = '127.0.0.1';
  search: for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && a.address !== '127.0.0.1') {
        found = a.address;
        break search;
      }
    }
  }
  localAddressCache = found;
  return found;
}
