// filter_chain_matcher as Envoy evaluates it: listeners written in Envoy's JSON are translated
// (schema and translator) and the listener's chain selector picks chains for connection facts:
// each network input, exact and prefix maps, the IP trie (longest prefix, exclusive), predicate
// lists, nested matchers that miss, on_no_match and default_filter_chain.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import { AddressObject, FilterState, StringAccessor } from '../../../proxy/filter-state/index.ts';
import { chainSelector, type ConnectionFacts } from '../../../proxy/listener/index.ts';
import { Store } from '../../../proxy/stats/index.ts';

const T = 'type.googleapis.com/';
const input = (name: string) => ({ name, typed_config: { '@type': `${T}envoy.extensions.matching.common_inputs.network.v3.${name}` } });
const chain = (name: string) => ({ action: { name, typed_config: { '@type': `${T}google.protobuf.StringValue`, value: name } } });
const tcpChain = (name: string) => ({
  name,
  filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: name, cluster: name } }],
});
const cidr = (address_prefix: string, prefix_len: number) => ({ address_prefix, prefix_len });
const tree = (inputName: string, kind: string, map: Record<string, object>, extra: object = {}) => ({ matcher_tree: { input: input(inputName), [kind]: { map } }, ...extra });
const single = (inputName: string, match: object) => ({ single_predicate: { input: input(inputName), ...match } });

const NAMES = ['a', 'b', 'c', 'd'];
const FACTS: ConnectionFacts = {
  destinationIp: '10.0.0.1',
  destinationPort: 443,
  sourceIp: '192.168.1.10',
  sourcePort: 40000,
  directSourceIp: '192.168.1.10',
  serverName: '',
  transportProtocol: 'raw_buffer',
  applicationProtocols: [],
};

/** The chain name the listener's selector picks for these facts ('-' for none). */
function selector(matcher: object, opts: { withDefault?: boolean; store?: Store } = {}) {
  const { listener } = translateListener({
    name: 'l',
    address: { socket_address: { address: '0.0.0.0', port_value: 443 } },
    filter_chains: NAMES.map(tcpChain),
    ...(opts.withDefault === false ? {} : { default_filter_chain: tcpChain('default') }),
    filter_chain_matcher: matcher,
  });
  const select = chainSelector(listener, opts.store);
  return (facts: Partial<ConnectionFacts> = {}) => select.match({ ...FACTS, ...facts })?.name ?? '-';
}

t.test('exact_match_map on the destination port; on_no_match; default_filter_chain without it', async (t) => {
  const map = { 80: chain('a'), 443: chain('b') };
  const pick = selector(tree('DestinationPortInput', 'exact_match_map', map, { on_no_match: chain('c') }));
  t.equal(pick({ destinationPort: 80 }), 'a');
  t.equal(pick({ destinationPort: 443 }), 'b');
  t.equal(pick({ destinationPort: 8080 }), 'c', 'on_no_match');
  const bare = selector(tree('DestinationPortInput', 'exact_match_map', map));
  t.equal(bare({ destinationPort: 8080 }), 'default', 'no match: default_filter_chain');
  t.equal(selector(tree('DestinationPortInput', 'exact_match_map', map), { withDefault: false })({ destinationPort: 8080 }), '-', 'and without one, no chain');
});

t.test('each network input reads its fact as Envoy does', async (t) => {
  const cases: [string, string, Partial<ConnectionFacts>, Partial<ConnectionFacts>][] = [
    ['DestinationIPInput', '10.0.0.9', { destinationIp: '10.0.0.9' }, {}],
    ['SourceIPInput', '127.0.0.2', { sourceIp: '127.0.0.2' }, {}],
    ['SourcePortInput', '5555', { sourcePort: 5555 }, {}],
    ['DirectSourceIPInput', '10.1.1.1', { directSourceIp: '10.1.1.1' }, { sourceIp: '10.1.1.1' }],
    ['SourceTypeInput', 'local', { sourceIp: '127.0.0.1' }, { sourceIp: '10.0.0.7' }],
    ['ServerNameInput', 'api.example.com', { serverName: 'api.example.com' }, { serverName: 'www.example.com' }],
    ['TransportProtocolInput', 'tls', { transportProtocol: 'tls' }, {}],
    ['ApplicationProtocolInput', "'h2','http/1.1'", { applicationProtocols: ['h2', 'http/1.1'] }, { applicationProtocols: ['h2'] }],
  ];
  for (const [name, key, hit, miss] of cases) {
    const pick = selector(tree(name, 'exact_match_map', { [key]: chain('a') }, { on_no_match: chain('b') }));
    t.equal(pick(hit), 'a', `${name} '${key}'`);
    t.equal(pick(miss), 'b', `${name}: another value`);
  }
  t.equal(selector(tree('SourceTypeInput', 'exact_match_map', { local: chain('a') }))({ sourceIp: '10.0.0.1' }), 'a', 'a peer with the listener\'s own address is local');
});

t.test("FilterStateInput: the text of the connection's object under the key; none is no value", async (t) => {
  const byKey = (key: string) => ({ name: 'fs', typed_config: { '@type': `${T}envoy.extensions.matching.common_inputs.network.v3.FilterStateInput`, key } });
  const pick = selector({
    matcher_tree: { input: byKey('io.istio.connect_authority'), exact_match_map: { map: { 'svc.ns.svc.cluster.local:80': chain('a') } } },
    on_no_match: { matcher: { matcher_tree: { input: byKey('envoy.filters.listener.original_dst.local_ip'), prefix_match_map: { map: { '10.0.0.': chain('b') } } }, on_no_match: chain('c') } },
  });
  const state = (entries: [string, StringAccessor | AddressObject][]) => {
    const fs = new FilterState();
    for (const [key, object] of entries) fs.set(key, object);
    return fs;
  };
  t.equal(pick({ filterState: state([['io.istio.connect_authority', new StringAccessor('svc.ns.svc.cluster.local:80')]]) }), 'a');
  t.equal(pick({ filterState: state([['io.istio.connect_authority', new StringAccessor('other:80')], ['envoy.filters.listener.original_dst.local_ip', AddressObject.parse('10.0.0.7:80')!]]) }), 'b', "another value, then an address object's text");
  t.equal(pick({ filterState: state([]) }), 'c', 'no object: on_no_match');
  t.equal(pick({}), 'c', 'no filter state at all: on_no_match');
});

t.test('an absent input (no SNI, no ALPN) takes on_no_match', async (t) => {
  const pick = selector(tree('ServerNameInput', 'exact_match_map', { '': chain('a') }, { on_no_match: chain('b') }));
  t.equal(pick({ serverName: '' }), 'b', 'no SNI is no value, not the empty string');
  const alpn = selector(tree('ApplicationProtocolInput', 'prefix_match_map', { '': chain('a') }, { on_no_match: chain('b') }));
  t.equal(alpn({ applicationProtocols: [] }), 'b');
  t.equal(alpn({ applicationProtocols: ['x'] }), 'a', 'an empty prefix matches any value');
});

t.test('prefix_match_map: the longest prefix; a nested miss resumes at shorter prefixes, then on_no_match', async (t) => {
  const nested = { matcher: tree('DestinationPortInput', 'exact_match_map', { 443: chain('c') }) };
  const pick = selector(tree('ServerNameInput', 'prefix_match_map', { api: chain('a'), 'api.internal': nested, a: chain('b') }, { on_no_match: chain('d') }));
  t.equal(pick({ serverName: 'api.internal.svc' }), 'c', 'longest prefix, its nested matcher matches');
  t.equal(pick({ serverName: 'api.internal.svc', destinationPort: 80 }), 'a', 'nested miss: the next longest prefix');
  t.equal(pick({ serverName: 'apex' }), 'b');
  t.equal(pick({ serverName: 'zzz' }), 'd');
});

t.test('exact_match_map: a nested matcher that misses falls to the map\'s on_no_match', async (t) => {
  const nested = { matcher: tree('TransportProtocolInput', 'exact_match_map', { tls: chain('a') }) };
  const pick = selector(tree('DestinationPortInput', 'exact_match_map', { 443: nested }, { on_no_match: chain('b') }));
  t.equal(pick({ transportProtocol: 'tls' }), 'a');
  t.equal(pick({ transportProtocol: 'raw_buffer' }), 'b');
});

const trie = (rangeMatchers: object[], extra: object = {}) => ({
  matcher_tree: {
    input: input('SourceIPInput'),
    custom_match: { name: 'envoy.matching.custom_matchers.ip_range_matcher', typed_config: { '@type': `${T}xds.type.matcher.v3.IPMatcher`, range_matchers: rangeMatchers } },
  },
  ...extra,
});

t.test('IP trie: the longest prefix wins, whatever the order; IPv6 and IPv4-mapped addresses', async (t) => {
  const pick = selector(trie([
    { ranges: [cidr('10.0.0.0', 8)], on_match: chain('a') },
    { ranges: [cidr('10.1.0.0', 16), cidr('fd00::', 8)], on_match: chain('b') },
    { ranges: [cidr('10.1.2.3', 32)], on_match: chain('c') },
  ], { on_no_match: chain('d') }));
  t.equal(pick({ sourceIp: '10.9.9.9' }), 'a');
  t.equal(pick({ sourceIp: '10.1.9.9' }), 'b');
  t.equal(pick({ sourceIp: '10.1.2.3' }), 'c');
  t.equal(pick({ sourceIp: '::ffff:10.1.2.3' }), 'c', 'IPv4-mapped');
  t.equal(pick({ sourceIp: 'fd00::1' }), 'b');
  t.equal(pick({ sourceIp: '11.0.0.1' }), 'd');
});

t.test('IP trie: a nested miss tries less specific ranges, except exclusive ones', async (t) => {
  const onlyTls = { matcher: tree('TransportProtocolInput', 'exact_match_map', { tls: chain('c') }) };
  const rangeMatchers = (exclusive: boolean) => [
    { ranges: [cidr('0.0.0.0', 0)], on_match: chain('a'), exclusive },
    { ranges: [cidr('192.0.0.0', 2)], on_match: onlyTls },
  ];
  const shared = selector(trie(rangeMatchers(false), { on_no_match: chain('d') }));
  t.equal(shared({ sourceIp: '192.168.0.1', transportProtocol: 'tls' }), 'c');
  t.equal(shared({ sourceIp: '192.168.0.1' }), 'a', 'not exclusive: the /0 answers when the /2 rejects');
  const exclusive = selector(trie(rangeMatchers(true), { on_no_match: chain('d') }));
  t.equal(exclusive({ sourceIp: '192.168.0.1' }), 'd', 'exclusive: the /0 does not apply under a more specific range');
  t.equal(exclusive({ sourceIp: '10.0.0.1' }), 'a', 'exclusive still answers as the most specific range');
});

t.test('matcher_list: predicates in order, and/or/not, the IP input matcher, nested misses continue', async (t) => {
  const store = new Store();
  const ipIn = (...ranges: object[]) => ({ custom_match: { name: 'ip', typed_config: { '@type': `${T}envoy.extensions.matching.input_matchers.ip.v3.Ip`, cidr_ranges: ranges, stat_prefix: 'fcm.' } } });
  const pick = selector({
    matcher_list: {
      matchers: [
        // port 9000 and SNI under .internal (any case): a nested matcher that needs TLS
        {
          predicate: { and_matcher: { predicate: [single('DestinationPortInput', { value_match: { exact: '9000' } }), single('ServerNameInput', { value_match: { suffix: '.INTERNAL', ignore_case: true } })] } },
          on_match: { matcher: tree('TransportProtocolInput', 'exact_match_map', { tls: chain('a') }) },
        },
        { predicate: { or_matcher: { predicate: [single('SourceIPInput', ipIn(cidr('127.0.0.2', 32))), single('SourcePortInput', { value_match: { prefix: '6' } })] } }, on_match: chain('b') },
        { predicate: { not_matcher: single('ServerNameInput', { value_match: { safe_regex: { google_re2: {}, regex: '.*\\.example\\.com' } } }) }, on_match: chain('c') },
        // an IP matcher fed a server name counts a parse failure
        { predicate: single('ServerNameInput', ipIn(cidr('0.0.0.0', 0))), on_match: chain('a') },
      ],
    },
    on_no_match: chain('d'),
  }, { store });
  t.equal(pick({ destinationPort: 9000, serverName: 'db.Internal', transportProtocol: 'tls' }), 'a');
  t.equal(pick({ destinationPort: 9000, serverName: 'db.internal', sourceIp: '127.0.0.2' }), 'b', 'nested miss: the next matcher');
  t.equal(pick({ sourcePort: 6001, serverName: 'x.example.com' }), 'b', 'or');
  t.equal(pick({ serverName: 'x.example.org' }), 'c', 'not');
  t.equal(pick({}), 'c', 'no SNI: the regex does not match, so not does');
  t.equal(store.counter('fcm.ip_parsing_failed').value, 0);
  t.equal(pick({ serverName: 'www.example.com' }), 'd', 'on_no_match');
  t.equal(store.counter('fcm.ip_parsing_failed').value, 1, 'the IP input matcher counted the server name it could not parse');
});

t.test('an on_no_match-only matcher, and an action naming no chain', async (t) => {
  t.equal(selector({ on_no_match: chain('c') })(), 'c');
  t.equal(selector({})(), 'default', 'nothing set: default_filter_chain');
  t.equal(selector(tree('DestinationPortInput', 'exact_match_map', { 443: chain('nope') }))(), '-', 'a match naming no chain gives no chain, not the default');
});
