import { parseCidr } from './cidr.ts';
import { captureOptions, type CaptureOptions } from './options.ts';

/** Legate's own chains in the nat table, in the order they are declared. */
export const legateChains = ['LEGATE_INBOUND', 'LEGATE_IN_REDIRECT', 'LEGATE_OUTPUT', 'LEGATE_REDIRECT'] as const;

const loopback = { 4: '127.0.0.1/32', 6: '::1/128' } as const;
// The source address of the inbound passthrough (Envoy's upstream_bind_config in Istio's
// InboundPassthroughCluster): the proxy's connections from it to the app must not loop back in.
const inboundPassthroughSource = { 4: '127.0.0.6/32', 6: '::6/128' } as const;

/**
 * iptables-restore (family 4) or ip6tables-restore (family 6) input for the nat table, meant for
 * `--noflush`: declaring a chain flushes it, so Legate's chains are rebuilt whole, and `replacing`
 * (rules seen in iptables-save output, `-A ...`) are deleted in the same transaction, so that
 * applying again replaces the previous jump rules instead of adding a second copy.
 * Throws CaptureOptionsError on bad options.
 */
export function buildRules(options: CaptureOptions, family: 4 | 6, replacing: readonly string[] = []): string {
  const o = captureOptions(options);
  const lines = ['*nat', ...legateChains.map((chain) => `:${chain} - [0:0]`)];
  lines.push(...replacing.map((rule) => rule.replace(/^-A /, '-D ')));
  lines.push(`-A LEGATE_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${o.inboundPort}`);
  lines.push(`-A LEGATE_REDIRECT -p tcp -j REDIRECT --to-ports ${o.outboundPort}`);

  const inbound = inboundRules(o);
  if (inbound.length > 0) lines.push('-A PREROUTING -p tcp -j LEGATE_INBOUND', ...inbound);

  lines.push('-A OUTPUT -p tcp -j LEGATE_OUTPUT');
  lines.push(...o.excludeOutboundPorts.map((port) => `-A LEGATE_OUTPUT -p tcp -m tcp --dport ${port} -j RETURN`));
  lines.push(`-A LEGATE_OUTPUT -s ${inboundPassthroughSource[family]} -o lo -j RETURN`);
  const owners = [`--uid-owner ${o.proxyUid}`, `--gid-owner ${o.proxyGid}`];
  for (const owner of owners) {
    // The proxy dialling this host's own address (not 127.0.0.1) goes through lo and is inbound
    // traffic to the app: send it through the inbound listener, as if it had arrived from outside.
    if (inbound.length > 0) {
      lines.push(`-A LEGATE_OUTPUT ! -d ${loopback[family]} -o lo -m owner ${owner} -j LEGATE_IN_REDIRECT`);
    }
    // The app talking to itself through lo is not captured.
    lines.push(`-A LEGATE_OUTPUT -o lo -m owner ! ${owner} -j RETURN`);
    // The proxy's own connections are never captured, or it would dial itself forever.
    lines.push(`-A LEGATE_OUTPUT -m owner ${owner} -j RETURN`);
  }
  lines.push(`-A LEGATE_OUTPUT -d ${loopback[family]} -j RETURN`);
  for (const cidr of ofFamily(o.excludeOutboundCidrs, family)) lines.push(`-A LEGATE_OUTPUT -d ${cidr} -j RETURN`);
  if (o.includeOutboundCidrs === '*') {
    lines.push('-A LEGATE_OUTPUT -j LEGATE_REDIRECT');
  } else {
    for (const cidr of ofFamily(o.includeOutboundCidrs, family)) lines.push(`-A LEGATE_OUTPUT -d ${cidr} -j LEGATE_REDIRECT`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

// The proxy's own listeners are reached as themselves, never redirected.
function inboundRules(o: CaptureOptions): string[] {
  const ownPorts = [o.inboundPort, o.outboundPort, o.adminPort];
  const excluded = new Set([...ownPorts, ...o.excludeInboundPorts]);
  if (o.includeInboundPorts === '*') {
    return [
      ...[...excluded].map((port) => `-A LEGATE_INBOUND -p tcp -m tcp --dport ${port} -j RETURN`),
      '-A LEGATE_INBOUND -p tcp -j LEGATE_IN_REDIRECT',
    ];
  }
  return o.includeInboundPorts
    .filter((port) => !excluded.has(port))
    .map((port) => `-A LEGATE_INBOUND -p tcp -m tcp --dport ${port} -j LEGATE_IN_REDIRECT`);
}

function ofFamily(cidrs: readonly string[], family: 4 | 6): string[] {
  return cidrs.filter((cidr) => parseCidr(cidr).family === family);
}
