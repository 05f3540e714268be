// Envoy's notion of an internal request: from a private network (RFC 1918, loopback, IPv6
// unique-local). Only internal downstreams may steer Legate with x-envoy-* request headers, and
// only external ones get x-envoy-external-address.
import { isIPv4 } from 'node:net';

export function isInternalAddress(address: string): boolean {
  const ip = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(ip)) {
    const [a, b] = ip.split('.', 2).map(Number);
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  const lower = ip.toLowerCase();
  return lower === '::1' || lower.startsWith('fc') || lower.startsWith('fd');
}
