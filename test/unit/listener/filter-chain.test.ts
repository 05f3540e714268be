// FilterChainMatcher against Envoy's precedence: destination port, destination IP, server name
// (exact before the longest wildcard), transport protocol, application protocols, direct source
// IP, source type, source IP, source port; the most specific value wins at each step, a chain that
// leaves a step empty is the fallback, and default_filter_chain takes what nothing matched.
import t from 'tap';
import type { FilterChain, FilterChainMatch, Listener } from '../../../proxy/config/model.ts';
import { FilterChainMatcher, type ConnectionFacts } from '../../../proxy/listener/filter-chain.ts';

function chain(name: string, match: Partial<FilterChainMatch> = {}): FilterChain {
  return {
    name,
    match: { prefixRanges: [], directSourcePrefixRanges: [], sourceType: 'ANY', sourcePrefixRanges: [], sourcePorts: [], serverNames: [], applicationProtocols: [], ...match },
    network: { kind: 'tcp_proxy', statPrefix: name, cluster: { kind: 'cluster', name }, idleTimeoutMs: 0, maxConnectAttempts: 1, accessLog: [], bufferLimitBytes: 1048576 },
  };
}

function matcher(chains: FilterChain[], defaultFilterChain?: FilterChain): (facts?: Partial<ConnectionFacts>) => string | undefined {
  const listener: Listener = {
    name: 'l',
    address: { address: '0.0.0.0', port: 443 },
    bindToPort: true,
    useOriginalDst: false,
    listenerFilters: [],
    listenerFiltersTimeoutMs: 15_000,
    continueOnListenerFiltersTimeout: false,
    filterChains: chains,
    defaultFilterChain,
    perConnectionBufferLimitBytes: 1 << 20,
    trafficDirection: 'UNSPECIFIED',
  };
  const m = new FilterChainMatcher(listener);
  return (facts = {}) =>
    m.match({
      destinationIp: '10.0.0.1',
      destinationPort: 443,
      sourceIp: '192.168.1.10',
      sourcePort: 40000,
      directSourceIp: '192.168.1.10',
      serverName: '',
      transportProtocol: 'raw_buffer',
      applicationProtocols: [],
      ...facts,
    })?.name;
}

const cidr = (addressPrefix: string, prefixLen: number) => ({ addressPrefix, prefixLen });

t.test('destination_port: the exact port beats a chain without one', async (t) => {
  const match = matcher([chain('any'), chain('https', { destinationPort: 443 }), chain('http', { destinationPort: 80 })]);
  t.equal(match({ destinationPort: 443 }), 'https');
  t.equal(match({ destinationPort: 80 }), 'http');
  t.equal(match({ destinationPort: 8080 }), 'any');
});

t.test('destination_port comes before server names', async (t) => {
  const match = matcher([chain('port', { destinationPort: 443 }), chain('sni', { serverNames: ['a.example.com'] })]);
  t.equal(match({ serverName: 'a.example.com' }), 'port', 'the port step already chose');
  t.equal(match({ serverName: 'a.example.com', destinationPort: 8443 }), 'sni');
});

t.test('prefix_ranges: the longest matching prefix wins', async (t) => {
  const match = matcher([chain('wide', { prefixRanges: [cidr('10.0.0.0', 8)] }), chain('narrow', { prefixRanges: [cidr('10.0.0.0', 24)] }), chain('none')]);
  t.equal(match({ destinationIp: '10.0.0.1' }), 'narrow');
  t.equal(match({ destinationIp: '10.9.0.1' }), 'wide');
  t.equal(match({ destinationIp: '172.16.0.1' }), 'none');
  t.equal(match({ destinationIp: '::ffff:10.0.0.7' }), 'narrow', 'an IPv4-mapped address matches IPv4 ranges');
});

t.test('server_names: exact beats the longest wildcard beats a shorter one; no SNI takes the chain without names', async (t) => {
  const match = matcher([
    chain('exact', { serverNames: ['api.example.com'] }),
    chain('deep', { serverNames: ['*.api.example.com'] }),
    chain('wild', { serverNames: ['*.example.com'] }),
    chain('none'),
  ]);
  t.equal(match({ serverName: 'api.example.com' }), 'exact');
  t.equal(match({ serverName: 'v1.api.example.com' }), 'deep');
  t.equal(match({ serverName: 'www.example.com' }), 'wild');
  t.equal(match({ serverName: 'a.b.example.com' }), 'wild', 'a wildcard covers deeper names, as Envoy matches suffixes');
  t.equal(match({ serverName: 'WWW.Example.COM' }), 'wild', 'case-insensitive');
  t.equal(match({ serverName: 'example.com' }), 'none', '*.example.com does not cover example.com');
  t.equal(match({ serverName: '' }), 'none');
  t.equal(match({ serverName: 'other.test' }), 'none');
});

t.test('transport_protocol and application_protocols', async (t) => {
  const match = matcher([chain('tls', { transportProtocol: 'tls' }), chain('h2', { transportProtocol: 'tls', applicationProtocols: ['h2'] }), chain('plain', { transportProtocol: 'raw_buffer' })]);
  t.equal(match({ transportProtocol: 'tls', applicationProtocols: ['h2', 'http/1.1'] }), 'h2');
  t.equal(match({ transportProtocol: 'tls', applicationProtocols: ['http/1.1'] }), 'tls');
  t.equal(match({ transportProtocol: 'raw_buffer' }), 'plain');
});

t.test('server name comes before transport protocol', async (t) => {
  const match = matcher([chain('sni', { serverNames: ['a.example.com'] }), chain('tls', { transportProtocol: 'tls' })]);
  t.equal(match({ transportProtocol: 'tls', serverName: 'a.example.com' }), 'sni');
  t.equal(match({ transportProtocol: 'tls', serverName: 'b.example.com' }), 'tls');
});

t.test('direct_source_prefix_ranges, source_type, source_prefix_ranges and source_ports, in that order', async (t) => {
  const match = matcher([
    chain('direct', { directSourcePrefixRanges: [cidr('192.168.0.0', 16)], sourcePorts: [1] }),
    chain('local', { sourceType: 'SAME_IP_OR_LOOPBACK' }),
    chain('external', { sourceType: 'EXTERNAL', sourcePrefixRanges: [cidr('203.0.113.0', 24)] }),
    chain('port', { sourcePorts: [5555] }),
    chain('rest'),
  ]);
  t.equal(match({ directSourceIp: '192.168.7.7', sourcePort: 1 }), 'direct');
  t.equal(match({ directSourceIp: '192.168.7.7', sourcePort: 2 }), undefined, 'the direct-source step chose; its source port does not match');
  t.equal(match({ directSourceIp: '127.0.0.1', sourceIp: '127.0.0.1' }), 'local');
  t.equal(match({ directSourceIp: '203.0.113.9', sourceIp: '203.0.113.9' }), 'external');
  t.equal(
    match({ directSourceIp: '198.51.100.1', sourceIp: '198.51.100.1', sourcePort: 5555 }),
    undefined,
    'the external chain won the source type step, then its source range does not match: no fallback to earlier steps',
  );
  const byPort = matcher([chain('port', { sourcePorts: [5555] }), chain('rest')]);
  t.equal(byPort({ sourcePort: 5555 }), 'port');
  t.equal(byPort({ sourcePort: 5556 }), 'rest');
});

t.test('default_filter_chain takes what no chain matches; without it there is no match', async (t) => {
  const chains = [chain('sni', { serverNames: ['a.example.com'] })];
  t.equal(matcher(chains, chain('default'))({ serverName: 'b.example.com' }), 'default');
  t.equal(matcher(chains)({ serverName: 'b.example.com' }), undefined);
  t.equal(matcher([chain('only')])({ serverName: 'x', destinationPort: 1 }), 'only', 'one chain without criteria takes everything');
});
