// CIDR ranges for filter chain matching, IPv4 and IPv6 (IPv4-mapped IPv6 addresses, as Node
// reports on dual-stack sockets, match IPv4 ranges).
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedCidr {
  family: 4 | 6;
  bits: bigint;
  prefixLen: number;
}

export function parseCidr(address: string, prefixLen: number): ParsedCidr {
  const family = isIPv4(address) ? 4 : 6;
  return { family, bits: toBits(address, family), prefixLen };
}

export function cidrContains(range: ParsedCidr, ip: string): boolean {
  let address = ip;
  if (range.family === 4 && address.startsWith('::ffff:') && isIPv4(address.slice(7))) address = address.slice(7);
  const parsed = parseIp(address);
  return parsed !== undefined && parsedContains(range, parsed);
}

/** An address read once, to be tested against many ranges; undefined when it is not an IP. */
export interface ParsedIp {
  family: 4 | 6;
  bits: bigint;
}

export function parseIp(ip: string): ParsedIp | undefined {
  const family = isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 0;
  return family === 0 ? undefined : { family, bits: toBits(ip, family) };
}

/** The IPv4 address an IPv4-mapped IPv6 one (::ffff:a.b.c.d) stands for, as IPv4 ranges see it. */
export function unmapped(ip: ParsedIp): ParsedIp | undefined {
  return ip.family === 6 && ip.bits >> 32n === 0xffffn ? { family: 4, bits: ip.bits & 0xffffffffn } : undefined;
}

export function parsedContains(range: ParsedCidr, ip: ParsedIp): boolean {
  if (ip.family !== range.family) return false;
  const shift = BigInt((ip.family === 4 ? 32 : 128) - range.prefixLen);
  return ip.bits >> shift === range.bits >> shift;
}

function toBits(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  let [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const headParts = head === '' ? [] : head.split(':');
  let tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const last = tailParts.length > 0 ? tailParts[tailParts.length - 1] : headParts[headParts.length - 1];
  const groups: string[] = [];
  if (last !== undefined && last.includes('.')) {
    const v4 = toBits(last, 4);
    const pair = [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    if (tailParts.length > 0) tailParts = [...tailParts.slice(0, -1), ...pair];
    else headParts.splice(headParts.length - 1, 1, ...pair);
  }
  const missing = tail === undefined ? 0 : 8 - headParts.length - tailParts.length;
  groups.push(...headParts, ...Array<string>(missing).fill('0'), ...tailParts);
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
