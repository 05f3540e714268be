// Which downstream addresses are internal, as Envoy decides it. Only an internal request may steer
// Legate with x-envoy-* control headers (timeouts, retries, x-envoy-internal); see
// downstream-address.ts for how the address a request is judged by is chosen.
//
// Envoy's rules (source/extensions/filters/network/http_connection_manager/config.{h,cc} and
// source/common/http/conn_manager_config.h, Envoy 1.33 and later):
//   - internal_address_config unset: no address is internal (the RFC 1918 default was removed for
//     CVE-2024-45806; since 1.36 there is no runtime guard to bring it back).
//   - internal_address_config set: a unix socket peer is internal iff unix_sockets; an IP is
//     internal iff it is in cidr_ranges, or, when cidr_ranges is empty, iff it is in Envoy's
//     built-in private set (isInternalAddress below).
// Everything here is allocation-free per request except IPv6 CIDR matching, which is rare.
import { isIPv6 } from 'node:net';
import type { CidrRange, InternalAddressConfig } from '../config/model.ts';
import { cidrContains, parseCidr, type ParsedCidr } from '../listener/cidr.ts';

const COLON = 58;
const DOT = 46;
const ZERO = 48;
const NINE = 57;

/**
 * The dotted-quad IPv4 address in s[start, end) as an unsigned 32-bit number, or -1 when it is not
 * one. Strict as inet_pton: four decimal parts of 0-255, no leading zeros, nothing else.
 */
export function parseIPv4(s: string, start = 0, end = s.length): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= ZERO && c <= NINE) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - ZERO);
      if (part > 255) return -1;
      digits++;
    } else if (c === DOT) {
      if (digits === 0 || parts === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      parts++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || parts !== 3) return -1;
  return value * 256 + part;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as Node reports peers on dual-stack sockets), or -1. */
export function mappedIPv4(address: string): number {
  if (address.length < 14 || address.charCodeAt(0) !== COLON || address.charCodeAt(1) !== COLON) return -1;
  for (let i = 2; i < 6; i++) if ((address.charCodeAt(i) | 0x20) !== 102 /* f */) return -1;
  if (address.charCodeAt(6) !== COLON) return -1;
  return parseIPv4(address, 7);
}

const IPV4_LOOPBACK = 0x7f000001;

/** Envoy's isLoopbackAddress: exactly 127.0.0.1 or ::1 (not the rest of 127/8). */
export function isLoopbackAddress(address: string): boolean {
  const v4 = parseIPv4(address);
  if (v4 >= 0) return v4 === IPV4_LOOPBACK;
  return address === '::1' || mappedIPv4(address) === IPV4_LOOPBACK;
}

function isPrivateIPv4(a: number): boolean {
  const first = a >>> 24;
  const second = (a >>> 16) & 0xff;
  return first === 10 || (first === 172 && second >= 16 && second <= 31) || (first === 192 && second === 168) || a === IPV4_LOOPBACK;
}

/**
 * Envoy's Network::Utility::isInternalAddress, the set used when internal_address_config is set
 * without cidr_ranges: 10/8, 172.16/12, 192.168/16, 127.0.0.1, fd00::/8 and ::1. IPv4-mapped IPv6
 * addresses count as the IPv4 address they carry.
 */
export function isInternalAddress(address: string): boolean {
  const v4 = parseIPv4(address);
  if (v4 >= 0) return isPrivateIPv4(v4);
  const mapped = mappedIPv4(address);
  if (mapped >= 0) return isPrivateIPv4(mapped);
  if (address === '::1') return true;
  // fd00::/8: the first 16-bit group is written out in full and starts with fd.
  const c0 = address.charCodeAt(0) | 0x20;
  const c1 = address.charCodeAt(1) | 0x20;
  return c0 === 102 /* f */ && c1 === 100 /* d */ && address.charCodeAt(4) === COLON && isIPv6(address);
}

interface Ipv4Range {
  network: number; // masked
  mask: number;
}

/** internal_address_config compiled once per config: answers "is this downstream address internal?". */
export class InternalAddressMatcher {
  readonly configured: boolean;
  readonly unixSockets: boolean;
  private readonly v4: Ipv4Range[];
  private readonly v6: ParsedCidr[];
  private readonly builtin: boolean; // set without cidr_ranges: Envoy's private set

  constructor(config: InternalAddressConfig | undefined) {
    this.configured = config !== undefined;
    this.unixSockets = config?.unixSockets === true;
    const ranges: CidrRange[] = config?.cidrRanges ?? [];
    this.builtin = this.configured && ranges.length === 0;
    this.v4 = [];
    this.v6 = [];
    for (const range of ranges) {
      const parsed = parseCidr(range.addressPrefix, range.prefixLen);
      if (parsed.family === 4) {
        const mask = parsed.prefixLen === 0 ? 0 : (0xffffffff << (32 - parsed.prefixLen)) >>> 0;
        this.v4.push({ network: (Number(parsed.bits) & mask) >>> 0, mask });
      } else {
        this.v6.push(parsed);
      }
    }
  }

  /**
   * Whether the address is internal. `address` is an IP (IPv4 in dotted form; IPv6 canonical), or
   * undefined for a downstream that has no IP (a unix socket).
   */
  isInternal(address: string | undefined): boolean {
    if (!this.configured) return false;
    if (address === undefined) return this.unixSockets;
    if (this.builtin) return isInternalAddress(address);
    const v4 = parseIPv4(address);
    if (v4 >= 0) {
      for (const r of this.v4) if (((v4 & r.mask) >>> 0) === r.network) return true;
      return false;
    }
    for (const r of this.v6) if (cidrContains(r, address)) return true;
    return false;
  }
}

const NOTHING_INTERNAL = new InternalAddressMatcher(undefined);

export function compileInternalAddressConfig(config: InternalAddressConfig | undefined): InternalAddressMatcher {
  return config === undefined ? NOTHING_INTERNAL : new InternalAddressMatcher(config);
}
