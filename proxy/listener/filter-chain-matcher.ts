// Listener.filter_chain_matcher: Envoy's matching API picks a filter chain by name from the
// connection's network inputs, in place of filter_chain_match. Compiled once per listener config
// into closures; a connection costs the input reads. Envoy's semantics (1.35+):
// - an absent input (no SNI, no ALPN, a non-local source_type) takes the tree's on_no_match;
// - a nested matcher that does not match is no answer: an exact map then takes its on_no_match,
//   a prefix map tries its shorter matching prefixes first, a list its next matcher, the IP trie
//   its less specific ranges (skipping exclusive ones once a more specific range was tried);
// - no match at the top: default_filter_chain; a match naming no chain: no chain (closed).
import { isIP } from 'node:net';
import type { ChainMatcher, ChainMatchInput, ChainOnMatch, ChainPredicate, FilterChain, Listener, NetworkChainInput } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import { matchString } from '../transport/index.ts';
import { parseCidr, parsedContains, parseIp, unmapped, type ParsedIp } from './cidr.ts';
import { FilterChainMatcher, isSameIpOrLoopback, type ConnectionFacts } from './filter-chain.ts';

export interface ChainSelector {
  match(facts: ConnectionFacts): FilterChain | undefined;
}

/** The listener's way of choosing a chain: filter_chain_matcher when set, else filter_chain_match. */
export function chainSelector(listener: Listener, store?: Store): ChainSelector {
  const matcher = listener.filterChainMatcher;
  return matcher === undefined ? new FilterChainMatcher(listener) : new NamedChainMatcher(listener, matcher, store);
}

/** A chain name, or undefined when the matcher (or its nested matchers) did not match. */
type Pick = (facts: ConnectionFacts) => string | undefined;
type Read = (facts: ConnectionFacts) => string | undefined;
type Test = (facts: ConnectionFacts) => boolean;
type CountParseFailure = (statPrefix: string) => () => void;

class NamedChainMatcher implements ChainSelector {
  private readonly byName: Map<string, FilterChain>;
  private readonly fallback: FilterChain | undefined;
  private readonly pick: Pick;

  constructor(listener: Listener, matcher: ChainMatcher, store: Store | undefined) {
    this.byName = new Map(listener.filterChains.map((chain) => [chain.name, chain]));
    this.fallback = listener.defaultFilterChain;
    const countParseFailure: CountParseFailure = (prefix) => {
      if (store === undefined) return () => undefined;
      const counter = store.counter(`${prefix}ip_parsing_failed`);
      return () => counter.inc();
    };
    this.pick = compileMatcher(matcher, countParseFailure);
  }

  match(facts: ConnectionFacts): FilterChain | undefined {
    const name = this.pick(facts);
    return name === undefined ? this.fallback : this.byName.get(name);
  }
}

// Envoy's network inputs, as strings; undefined where Envoy's input has no value.
// Addresses that are not IPs (an internal listener's) have neither an IP nor a port input.
const INPUTS: Record<NetworkChainInput, Read> = {
  destination_ip: (f) => (isIP(f.destinationIp) === 0 ? undefined : f.destinationIp),
  destination_port: (f) => (isIP(f.destinationIp) === 0 ? undefined : String(f.destinationPort)),
  source_ip: (f) => (isIP(f.sourceIp) === 0 ? undefined : f.sourceIp),
  source_port: (f) => (isIP(f.sourceIp) === 0 ? undefined : String(f.sourcePort)),
  direct_source_ip: (f) => (isIP(f.directSourceIp) === 0 ? undefined : f.directSourceIp),
  source_type: (f) => (isSameIpOrLoopback(f) ? 'local' : undefined),
  server_name: (f) => f.serverName || undefined,
  transport_protocol: (f) => f.transportProtocol || undefined,
  application_protocol: (f) => (f.applicationProtocols.length === 0 ? undefined : `'${f.applicationProtocols.join("','")}'`),
};

// FilterStateInput: the text of the connection's object under the key (an internal connection's
// shared objects, or what a listener filter set); absent when there is none.
function inputReader(input: ChainMatchInput): Read {
  if (typeof input === 'string') return INPUTS[input];
  const key = input.filterState;
  return (f) => f.filterState?.get(key)?.asString();
}

const NO_MATCH: Pick = () => undefined;

function compileMatcher(matcher: ChainMatcher, count: CountParseFailure): Pick {
  const noMatch = matcher.onNoMatch === undefined ? NO_MATCH : compileOnMatch(matcher.onNoMatch, count);
  switch (matcher.kind) {
    case 'on_no_match_only':
      return noMatch;
    case 'exact_map': {
      const read = inputReader(matcher.input);
      const map = new Map(matcher.entries.map((e) => [e.key, compileOnMatch(e.onMatch, count)]));
      return (f) => {
        const value = read(f);
        const hit = value === undefined ? undefined : map.get(value);
        return (hit === undefined ? undefined : hit(f)) ?? noMatch(f);
      };
    }
    case 'prefix_map': {
      const read = inputReader(matcher.input);
      const map = new Map(matcher.entries.map((e) => [e.key, compileOnMatch(e.onMatch, count)]));
      const lengths = [...new Set(matcher.entries.map((e) => e.key.length))].sort((a, b) => b - a);
      return (f) => {
        const value = read(f);
        if (value !== undefined) {
          for (const length of lengths) {
            const hit = length <= value.length ? map.get(value.slice(0, length)) : undefined;
            const name = hit === undefined ? undefined : hit(f);
            if (name !== undefined) return name;
          }
        }
        return noMatch(f);
      };
    }
    case 'ip_ranges':
      return compileIpTrie(matcher, count, noMatch);
    case 'list': {
      const entries = matcher.matchers.map((m) => ({ test: compilePredicate(m.predicate, count), pick: compileOnMatch(m.onMatch, count) }));
      return (f) => {
        for (const entry of entries) {
          if (!entry.test(f)) continue;
          const name = entry.pick(f);
          if (name !== undefined) return name;
        }
        return noMatch(f);
      };
    }
  }
}

function compileOnMatch(onMatch: ChainOnMatch, count: CountParseFailure): Pick {
  if (onMatch.kind === 'matcher') return compileMatcher(onMatch.matcher, count);
  const name = onMatch.name;
  return () => name;
}

interface TrieNode {
  exclusive: boolean;
  pick: Pick;
}

// One table per prefix length, longest first: the masked address -> the range matchers with that
// range, in declaration order (Envoy's order among equally specific ranges).
type IpTable = { shift: bigint; nodes: Map<bigint, TrieNode[]> }[];

function compileIpTrie(matcher: Extract<ChainMatcher, { kind: 'ip_ranges' }>, count: CountParseFailure, noMatch: Pick): Pick {
  const read = inputReader(matcher.input);
  const tables = { 4: new Map<number, Map<bigint, TrieNode[]>>(), 6: new Map<number, Map<bigint, TrieNode[]>>() };
  for (const rangeMatcher of matcher.rangeMatchers) {
    const node = { exclusive: rangeMatcher.exclusive, pick: compileOnMatch(rangeMatcher.onMatch, count) };
    for (const range of rangeMatcher.ranges.map((r) => parseCidr(r.addressPrefix, r.prefixLen))) {
      const width = range.family === 4 ? 32 : 128;
      const byLength = tables[range.family];
      const nodes = byLength.get(range.prefixLen) ?? new Map<bigint, TrieNode[]>();
      byLength.set(range.prefixLen, nodes);
      const key = range.bits >> BigInt(width - range.prefixLen);
      nodes.set(key, [...(nodes.get(key) ?? []), node]);
    }
  }
  const ordered = (byLength: Map<number, Map<bigint, TrieNode[]>>, width: number): IpTable =>
    [...byLength].sort(([a], [b]) => b - a).map(([length, nodes]) => ({ shift: BigInt(width - length), nodes }));
  const v4 = ordered(tables[4], 32);
  const v6 = ordered(tables[6], 128);
  return (f) => {
    const ip = readIp(read, f);
    if (ip !== undefined) {
      let first = true;
      for (const { shift, nodes } of ip.family === 4 ? v4 : v6) {
        for (const node of nodes.get(ip.bits >> shift) ?? []) {
          // An exclusive range only ever answers as the most specific one.
          if (!first && node.exclusive) continue;
          const name = node.pick(f);
          if (name !== undefined) return name;
          first = false;
        }
      }
    }
    return noMatch(f);
  };
}

function compilePredicate(predicate: ChainPredicate, count: CountParseFailure): Test {
  switch (predicate.kind) {
    case 'value': {
      const read = inputReader(predicate.input);
      const matcher = predicate.matcher;
      return (f) => {
        const value = read(f);
        return value !== undefined && matchString(matcher, value);
      };
    }
    case 'ip': {
      const read = inputReader(predicate.input);
      const ranges = predicate.ranges.map((r) => parseCidr(r.addressPrefix, r.prefixLen));
      const parseFailed = count(predicate.statPrefix);
      return (f) => {
        if (read(f) === undefined) return false;
        const ip = readIp(read, f);
        if (ip === undefined) {
          parseFailed();
          return false;
        }
        return ranges.some((r) => parsedContains(r, ip));
      };
    }
    case 'and': {
      const tests = predicate.predicates.map((p) => compilePredicate(p, count));
      return (f) => tests.every((test) => test(f));
    }
    case 'or': {
      const tests = predicate.predicates.map((p) => compilePredicate(p, count));
      return (f) => tests.some((test) => test(f));
    }
    case 'not': {
      const test = compilePredicate(predicate.predicate, count);
      return (f) => !test(f);
    }
  }
}

// The input as an address; an IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4
// peer) is matched as the IPv4 address it carries.
function readIp(read: Read, f: ConnectionFacts): ParsedIp | undefined {
  const value = read(f);
  const ip = value === undefined ? undefined : parseIp(value);
  return ip === undefined ? undefined : (unmapped(ip) ?? ip);
}
