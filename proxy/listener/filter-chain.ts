// Filter chain selection with Envoy's precedence: destination port, destination IP, server name,
// transport protocol, application protocols, direct source IP, source type, source IP, source
// port. At each step the most specific matching criterion wins and chains that leave the step
// empty are the fallback. Compiled once per listener; the common one-chain case is O(1).
import type { CidrRange, FilterChain, Listener } from '../config/model.ts';
import type { FilterState } from '../filter-state/index.ts';
import { cidrContains, parseCidr, type ParsedCidr } from './cidr.ts';

export interface ConnectionFacts {
  destinationIp: string;
  destinationPort: number;
  sourceIp: string;
  sourcePort: number;
  directSourceIp: string;
  serverName: string; // '' when none (no TLS or no SNI)
  transportProtocol: string; // 'raw_buffer' | 'tls'
  applicationProtocols: string[];
  // The connection's dynamic metadata: what an internal connection was passed (internal_upstream).
  dynamicMetadata?: Readonly<Record<string, unknown>>;
  // The connection's filter state: set when a filter sets an object or an internal connection
  // arrives with objects shared from upstream (absent: none, nothing allocated).
  filterState?: FilterState;
}

interface CompiledChain {
  chain: FilterChain;
  prefixRanges: ParsedCidr[];
  sourcePrefixRanges: ParsedCidr[];
  directSourcePrefixRanges: ParsedCidr[];
}

export class FilterChainMatcher {
  private readonly chains: CompiledChain[];
  private readonly fallback: FilterChain | undefined;
  private readonly only: FilterChain | undefined;

  constructor(listener: Listener) {
    this.chains = listener.filterChains.map((chain) => ({
      chain,
      prefixRanges: chain.match.prefixRanges.map(compileCidr),
      sourcePrefixRanges: chain.match.sourcePrefixRanges.map(compileCidr),
      directSourcePrefixRanges: chain.match.directSourcePrefixRanges.map(compileCidr),
    }));
    this.fallback = listener.defaultFilterChain;
    const single = listener.filterChains.length === 1 ? listener.filterChains[0] : undefined;
    this.only = single !== undefined && isEmptyMatch(single) ? single : undefined;
  }

  match(facts: ConnectionFacts): FilterChain | undefined {
    if (this.only !== undefined) return this.only;
    let candidates = this.chains;
    candidates = narrow(candidates, (c) => {
      const p = c.chain.match.destinationPort;
      return p === undefined ? 0 : p === facts.destinationPort ? 1 : -1;
    });
    candidates = narrow(candidates, (c) => cidrScore(c.prefixRanges, facts.destinationIp));
    candidates = narrow(candidates, (c) => serverNameScore(c.chain.match.serverNames, facts.serverName));
    candidates = narrow(candidates, (c) => {
      const t = c.chain.match.transportProtocol;
      return t === undefined ? 0 : t === facts.transportProtocol ? 1 : -1;
    });
    candidates = narrow(candidates, (c) => {
      const protos = c.chain.match.applicationProtocols;
      if (protos.length === 0) return 0;
      return protos.some((p) => facts.applicationProtocols.includes(p)) ? 1 : -1;
    });
    candidates = narrow(candidates, (c) => cidrScore(c.directSourcePrefixRanges, facts.directSourceIp));
    candidates = narrow(candidates, (c) => sourceTypeScore(c.chain.match.sourceType, facts));
    candidates = narrow(candidates, (c) => cidrScore(c.sourcePrefixRanges, facts.sourceIp));
    candidates = narrow(candidates, (c) => {
      const ports = c.chain.match.sourcePorts;
      return ports.length === 0 ? 0 : ports.includes(facts.sourcePort) ? 1 : -1;
    });
    return candidates[0]?.chain ?? this.fallback;
  }
}

/** Keeps the candidates with the best non-negative score (-1 = no match at this step). */
function narrow(list: CompiledChain[], score: (c: CompiledChain) => number): CompiledChain[] {
  let best = -1;
  let kept: CompiledChain[] = [];
  for (const c of list) {
    const s = score(c);
    if (s < 0 || s < best) continue;
    if (s > best) {
      best = s;
      kept = [];
    }
    kept.push(c);
  }
  return kept;
}

/** 0 when the chain has no ranges; 1 + the longest matching prefix length; -1 when none match. */
function cidrScore(ranges: ParsedCidr[], ip: string): number {
  if (ranges.length === 0) return 0;
  let best = -1;
  for (const r of ranges) if (cidrContains(r, ip) && r.prefixLen + 1 > best) best = r.prefixLen + 1;
  return best;
}

/** Exact names beat longer wildcard suffixes beat shorter ones; no names = 0. */
function serverNameScore(names: string[], sni: string): number {
  if (names.length === 0) return 0;
  if (sni === '') return -1;
  const host = sni.toLowerCase();
  let best = -1;
  for (const name of names) {
    if (name === host) return 1_000_000;
    if (name.startsWith('*.') && host.endsWith(name.slice(1)) && name.length > best) best = name.length;
  }
  return best;
}

function sourceTypeScore(type: string, facts: ConnectionFacts): number {
  if (type === 'ANY') return 0;
  return (type === 'SAME_IP_OR_LOOPBACK') === isSameIpOrLoopback(facts) ? 1 : -1;
}

/** Envoy's local connection: the peer is a loopback address or the connection's own address. */
export function isSameIpOrLoopback(facts: ConnectionFacts): boolean {
  const ip = facts.sourceIp.startsWith('::ffff:') ? facts.sourceIp.slice(7) : facts.sourceIp;
  return facts.sourceIp === facts.destinationIp || ip.startsWith('127.') || ip === '::1';
}

function compileCidr(range: CidrRange): ParsedCidr {
  return parseCidr(range.addressPrefix, range.prefixLen);
}

function isEmptyMatch(chain: FilterChain): boolean {
  const m = chain.match;
  return (
    m.destinationPort === undefined &&
    m.prefixRanges.length === 0 &&
    m.directSourcePrefixRanges.length === 0 &&
    m.sourceType === 'ANY' &&
    m.sourcePrefixRanges.length === 0 &&
    m.sourcePorts.length === 0 &&
    m.serverNames.length === 0 &&
    m.transportProtocol === undefined &&
    m.applicationProtocols.length === 0
  );
}
