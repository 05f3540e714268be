// Which listener takes the connection (by the URL's port and host, or by name) and which of its
// filter chains, chosen by the listener's own chain selector on the facts the URL implies.
import { isIP } from 'node:net';
import { HTTP_INSPECTOR_TYPE, TLS_INSPECTOR_TYPE } from '../config/extensions.ts';
import type { CidrRange, FilterChain, Listener } from '../config/model.ts';
import { chainSelector, filterDisabled, type ConnectionFacts } from '../listener/index.ts';
import { ExplainError } from './errors.ts';
import { offeredAlpn, serverName, type HypotheticalRequest } from './request.ts';
import type { FilterChainExplanation, ListenerExplanation } from './types.ts';

export interface ListenerChoice {
  listener: Listener;
  port: number; // the port it serves on (a bound port 0 listener's real port when live)
  explanation: ListenerExplanation;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** boundPorts: listener name -> the port it is bound to, from a running Legate. */
export function chooseListener(listeners: readonly Listener[], req: HypotheticalRequest, named: string | undefined, boundPorts: ReadonlyMap<string, number>): ListenerChoice {
  const portOf = (l: Listener) => boundPorts.get(l.name) ?? l.address.port;
  const describe = (l: Listener) => `${l.address.address}:${portOf(l)}`;
  if (named !== undefined) {
    const listener = listeners.find((l) => l.name === named);
    if (listener === undefined) throw new ExplainError(`unknown listener '${named}'${listeners.length > 0 ? ` (listeners: ${listeners.map((l) => l.name).join(', ')})` : ''}`);
    return { listener, port: portOf(listener), explanation: { name: listener.name, address: describe(listener), why: '--listener' } };
  }
  const onPort = listeners.filter((l) => l.bindToPort && !l.address.pipe && portOf(l) === req.port);
  // The listener bound to the URL's IP beats a wildcard one, as the kernel's socket lookup does.
  const exact = onPort.find((l) => l.address.address === req.host);
  const wildcard = onPort.find((l) => WILDCARDS.has(l.address.address));
  const listener = exact ?? wildcard ?? (isIP(req.host) === 0 ? onPort[0] : undefined);
  if (listener !== undefined) {
    const why = listener === exact ? `bound to ${req.host}:${req.port}` : listener === wildcard ? `bound to every address on port ${req.port}` : `bound to port ${req.port} (${req.host} is taken to resolve to ${listener.address.address})`;
    return { listener, port: portOf(listener), explanation: { name: listener.name, address: describe(listener), why } };
  }
  // A sidecar: iptables sends the app's outbound connections to the use_original_dst listener,
  // which hands each to the listener (bind_to_port: false) for its original destination, as the
  // listener manager's byAddress does; without one the connection stays where it was captured.
  const capturing = listeners.find((l) => l.useOriginalDst && l.trafficDirection === 'OUTBOUND') ?? listeners.find((l) => l.useOriginalDst);
  if (capturing !== undefined) {
    const virtual = listeners.filter((l) => !l.bindToPort && l.address.port === req.port);
    const target = virtual.find((l) => l.address.address === req.host) ?? virtual.find((l) => l.address.address === '::' || (l.address.address === '0.0.0.0' && !req.host.includes(':')));
    if (target !== undefined) {
      return { listener: target, port: req.port, explanation: { name: target.name, address: describe(target), why: `captured by '${capturing.name}' (use_original_dst), handed to the listener for ${req.host}:${req.port}` } };
    }
    return { listener: capturing, port: portOf(capturing), explanation: { name: capturing.name, address: describe(capturing), why: `captured by '${capturing.name}' (use_original_dst); no listener for ${req.host}:${req.port}, so it stays there` } };
  }
  const known = listeners.map((l) => `${l.name} on ${describe(l)}`).join(', ');
  throw new ExplainError(`no listener on port ${req.port}${known === '' ? '' : ` (${known})`}; name one with --listener`);
}

export function connectionFacts(listener: Listener, req: HypotheticalRequest): ConnectionFacts {
  const inspects = (type: string) => listener.listenerFilters.some((f) => f.type === type && !filterDisabled(f.disabled, req.port));
  // Without the tls_inspector the listener never reads the ClientHello: no SNI, no ALPN.
  const inspected = req.tls && inspects(TLS_INSPECTOR_TYPE);
  const destinationIp = isIP(req.host) !== 0 ? req.host : WILDCARDS.has(listener.address.address) ? '127.0.0.1' : listener.address.address;
  // The http_inspector names a plain-text request's protocol (taken to be HTTP/1.1, not h2c).
  const plainHttp = !req.tls && inspects(HTTP_INSPECTOR_TYPE);
  return {
    destinationIp,
    destinationPort: req.port,
    sourceIp: req.sourceIp,
    sourcePort: req.sourcePort,
    directSourceIp: req.sourceIp,
    serverName: inspected ? serverName(req) : '',
    transportProtocol: inspected ? 'tls' : 'raw_buffer',
    applicationProtocols: inspected ? offeredAlpn(req) : plainHttp ? ['http/1.1'] : [],
  };
}

export function chooseFilterChain(listener: Listener, facts: ConnectionFacts): FilterChainExplanation | null {
  const chain = chainSelector(listener).match(facts);
  if (chain === undefined) return null;
  const index = listener.filterChains.indexOf(chain);
  const network = chain.network;
  return {
    name: chain.name,
    index,
    why: index === -1
      ? ['no filter chain matched: the default_filter_chain']
      : listener.filterChainMatcher !== undefined
        ? [`filter_chain_matcher named '${chain.name}'`]
        : chainReasons(chain, facts, listener.filterChains.length),
    transportSocket: chain.tls === undefined ? 'raw_buffer' : 'tls',
    networkFilter: network.kind === 'http_connection_manager' ? 'envoy.filters.network.http_connection_manager' : 'envoy.filters.network.tcp_proxy',
    statPrefix: network.statPrefix,
  };
}

/** The chosen chain's criteria, each with the fact it met; the matcher has already applied them. */
function chainReasons(chain: FilterChain, facts: ConnectionFacts, chains: number): string[] {
  const m = chain.match;
  const ranges = (list: CidrRange[]) => list.map((r) => `${r.addressPrefix}/${r.prefixLen}`).join(', ');
  const why: string[] = [];
  if (m.destinationPort !== undefined) why.push(`destination_port ${m.destinationPort}`);
  if (m.prefixRanges.length > 0) why.push(`prefix_ranges [${ranges(m.prefixRanges)}] hold destination ${facts.destinationIp}`);
  if (m.serverNames.length > 0) why.push(`server_names [${m.serverNames.join(', ')}] match SNI ${facts.serverName}`);
  if (m.transportProtocol !== undefined) why.push(`transport_protocol ${m.transportProtocol}`);
  if (m.applicationProtocols.length > 0) why.push(`application_protocols [${m.applicationProtocols.join(', ')}] match ${facts.applicationProtocols.filter((p) => m.applicationProtocols.includes(p)).join(', ')}`);
  if (m.directSourcePrefixRanges.length > 0) why.push(`direct_source_prefix_ranges [${ranges(m.directSourcePrefixRanges)}] hold ${facts.directSourceIp}`);
  if (m.sourceType !== 'ANY') why.push(`source_type ${m.sourceType} (${facts.sourceIp})`);
  if (m.sourcePrefixRanges.length > 0) why.push(`source_prefix_ranges [${ranges(m.sourcePrefixRanges)}] hold ${facts.sourceIp}`);
  if (m.sourcePorts.length > 0) why.push(`source_ports include ${facts.sourcePort}`);
  if (why.length === 0) why.push(chains === 1 ? 'the only filter chain' : 'no match criteria: the fallback when no more specific chain matches');
  return why;
}
