import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  /** Canonical text, as iptables-save prints it: network address (host bits cleared) and prefix. */
  readonly text: string;
}

/**
 * Parses "10.0.0.0/8", "fd00::/8" or a bare address (a host: /32 or /128).
 * Host bits are cleared, as iptables itself does, so the text matches iptables-save.
 * Throws an Error with a one-line message on anything else.
 */
export function parseCidr(input: string): Cidr {
  const slash = input.indexOf('/');
  const address = slash === -1 ? input : input.slice(0, slash);
  const prefixText = slash === -1 ? undefined : input.slice(slash + 1);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (family === undefined) {
    throw new Error(`'${input}' is not a CIDR (expected e.g. 10.0.0.0/8 or fd00::/8)`);
  }
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefixText !== undefined && (!/^\d{1,3}$/.test(prefixText) || prefix > bits)) {
    throw new Error(`'${input}' has an invalid prefix length (0-${bits} for IPv${family})`);
  }
  const bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  clearHostBits(bytes, prefix);
  const network = family === 4 ? bytes.join('.') : formatIpv6(bytes);
  return { family, text: `${network}/${prefix}` };
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

// Expands "::" and a dotted IPv4 tail into 16 bytes; the input is already known valid.
function ipv6Bytes(address: string): number[] {
  let text = address.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const [a, b, c, d] = ipv4Bytes(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  return groups.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

function clearHostBits(bytes: number[], prefix: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
}

// RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::".
function formatIpv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  const before = hex.slice(0, bestStart).join(':');
  const after = hex.slice(bestStart + bestLength).join(':');
  return `${before}::${after}`;
}
