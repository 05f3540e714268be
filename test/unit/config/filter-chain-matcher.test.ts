// Listener.filter_chain_matcher translation: the model it becomes, Envoy's rules for the named
// chains (unique non-empty names; filter_chain_match ignored), and each refusal naming its field.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';

const T = 'type.googleapis.com/';
const input = (name: string) => ({ name, typed_config: { '@type': `${T}envoy.extensions.matching.common_inputs.network.v3.${name}` } });
const chain = (name: string) => ({ action: { name, typed_config: { '@type': `${T}google.protobuf.StringValue`, value: name } } });
const tcpChain = (name: string, extra: object = {}) => ({
  name,
  filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'tcp', cluster: 'c' } }],
  ...extra,
});
const portTree = { matcher_tree: { input: input('DestinationPortInput'), exact_match_map: { map: { 443: chain('a') } } }, on_no_match: chain('b') };
const listener = (matcher: object, chains: object[] = [tcpChain('a'), tcpChain('b')]) => ({
  name: 'waypoint',
  address: { socket_address: { address: '0.0.0.0', port_value: 15008 } },
  filter_chains: chains,
  filter_chain_matcher: matcher,
});

t.test('the matcher becomes the model, with on_no_match', async (t) => {
  const { listener: l, warnings } = translateListener(listener(portTree));
  t.same(l.filterChainMatcher, {
    kind: 'exact_map',
    input: 'destination_port',
    entries: [{ key: '443', onMatch: { kind: 'chain', name: 'a' } }],
    onNoMatch: { kind: 'chain', name: 'b' },
  });
  t.same(warnings, []);
  t.same(structuredClone(l.filterChainMatcher), l.filterChainMatcher, 'plain data: it crosses IPC to the workers');
});

t.test('FilterStateInput: the key of the object to read (waypoints match the CONNECT authority)', async (t) => {
  const byAuthority = {
    matcher_tree: {
      input: { name: 'authority', typed_config: { '@type': `${T}envoy.extensions.matching.common_inputs.network.v3.FilterStateInput`, key: 'io.istio.connect_authority' } },
      exact_match_map: { map: { 'svc.ns.svc.cluster.local:80': chain('a') } },
    },
    on_no_match: { matcher: portTree },
  };
  const { listener: l } = translateListener(listener(byAuthority));
  t.same(l.filterChainMatcher, {
    kind: 'exact_map',
    input: { filterState: 'io.istio.connect_authority' },
    entries: [{ key: 'svc.ns.svc.cluster.local:80', onMatch: { kind: 'chain', name: 'a' } }],
    onNoMatch: { kind: 'matcher', matcher: { kind: 'exact_map', input: 'destination_port', entries: [{ key: '443', onMatch: { kind: 'chain', name: 'a' } }], onNoMatch: { kind: 'chain', name: 'b' } } },
  });
  const noKey = { matcher_tree: { input: { name: 'fs', typed_config: { '@type': `${T}envoy.extensions.matching.common_inputs.network.v3.FilterStateInput` } }, exact_match_map: { map: { x: chain('a') } } } };
  t.throws(() => translateListener(listener(noKey)), /filter_chain_matcher\.matcher_tree\.input\.typed_config\.key: required field is missing/);
});

t.test('IP trie and list predicates', async (t) => {
  const { listener: l } = translateListener(listener({
    matcher_list: {
      matchers: [{
        predicate: { not_matcher: { single_predicate: { input: input('SourceIPInput'), custom_match: { name: 'ip', typed_config: { '@type': `${T}envoy.extensions.matching.input_matchers.ip.v3.Ip`, cidr_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }], stat_prefix: 'p.' } } } } },
        on_match: { matcher: { matcher_tree: { input: input('DirectSourceIPInput'), custom_match: { name: 'trie', typed_config: { '@type': `${T}xds.type.matcher.v3.IPMatcher`, range_matchers: [{ ranges: [{ address_prefix: '::', prefix_len: 0 }], on_match: chain('a'), exclusive: true }] } } } } },
      }],
    },
  }));
  t.same(l.filterChainMatcher, {
    kind: 'list',
    matchers: [{
      predicate: { kind: 'not', predicate: { kind: 'ip', input: 'source_ip', ranges: [{ addressPrefix: '10.0.0.0', prefixLen: 8 }], statPrefix: 'p.' } },
      onMatch: { kind: 'matcher', matcher: { kind: 'ip_ranges', input: 'direct_source_ip', rangeMatchers: [{ ranges: [{ addressPrefix: '::', prefixLen: 0 }], onMatch: { kind: 'chain', name: 'a' }, exclusive: true }] } },
    }],
  });
});

t.test("chains need unique names; their filter_chain_match is ignored (and not checked), with a warning", async (t) => {
  t.throws(() => translateListener(listener(portTree, [tcpChain('a'), tcpChain('')])), /filter_chains\[1\]\.name: "name" field is required when using a listener matcher/);
  t.throws(() => translateListener(listener(portTree, [tcpChain('a'), tcpChain('a')])), /filter_chains\[1\]\.name: "name" field is duplicated with value 'a'/);
  const { listener: l, warnings } = translateListener(listener(portTree, [tcpChain('a', { filter_chain_match: { server_names: ['a*.example.com'] } }), tcpChain('b', { filter_chain_match: { server_names: ['a*.example.com'] } })]));
  t.same(l.filterChains[0].match.serverNames, [], 'not translated: Envoy ignores it');
  t.match(warnings, [/filter_chains\[0\]\.filter_chain_match: ignored, filter_chain_matcher chooses the chain/, /filter_chains\[1\]\.filter_chain_match: ignored/]);
  t.throws(() => translateListener({ ...listener(portTree), filter_chain_matcher: undefined, filter_chains: [tcpChain('a', { filter_chain_match: { server_names: ['a*.example.com'] } })] }), /partial wildcard/, 'without a matcher it is checked');
});

t.test('an action naming no chain is accepted, as Envoy does, with a warning', async (t) => {
  const { warnings } = translateListener(listener({ on_no_match: chain('missing') }));
  t.match(warnings, [/filter_chain_matcher: no filter chain is named 'missing'; connections it picks for it are closed/]);
});

t.test('refusals name the field and the extension', async (t) => {
  const refused: [string, object, RegExp][] = [
    ['an HTTP input', { matcher_tree: { input: { name: 'h', typed_config: { '@type': `${T}envoy.type.matcher.v3.HttpRequestHeaderMatchInput`, header_name: 'x' } }, exact_match_map: { map: { x: chain('a') } } } },
      /filter_chain_matcher\.matcher_tree\.input\.typed_config: .*HttpRequestHeaderMatchInput/],
    ['an action that is not a chain name', { on_no_match: { action: { name: 'x', typed_config: { '@type': `${T}xds.type.matcher.v3.IPMatcher` } } } },
      /filter_chain_matcher\.on_no_match\.action\.typed_config: not supported by Legate: action 'xds\.type\.matcher\.v3\.IPMatcher'/],
    ['an input used as a tree custom matcher', { matcher_tree: { input: input('SourceIPInput'), custom_match: { name: 'c', typed_config: { '@type': `${T}envoy.extensions.matching.input_matchers.ip.v3.Ip`, cidr_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }], stat_prefix: 'p' } } } },
      /filter_chain_matcher\.matcher_tree\.custom_match\.typed_config: not supported by Legate: custom matcher 'envoy\.extensions\.matching\.input_matchers\.ip\.v3\.Ip'/],
    ['the trie as a predicate matcher', { matcher_list: { matchers: [{ predicate: { single_predicate: { input: input('SourceIPInput'), custom_match: { name: 't', typed_config: { '@type': `${T}xds.type.matcher.v3.IPMatcher` } } } }, on_match: chain('a') }] } },
      /filter_chain_matcher\.matcher_list\.matchers\[0\]\.predicate\.single_predicate\.custom_match\.typed_config: not supported by Legate: input matcher 'xds\.type\.matcher\.v3\.IPMatcher'/],
    ['a nested matcher\'s input', { on_no_match: { matcher: { matcher_tree: { input: { name: 'x', typed_config: { '@type': `${T}google.protobuf.StringValue`, value: 'x' } }, exact_match_map: { map: { x: chain('a') } } } } } },
      /filter_chain_matcher\.on_no_match\.matcher\.matcher_tree\.input\.typed_config: not supported by Legate: input 'google\.protobuf\.StringValue'/],
    ['a range without on_match', { matcher_tree: { input: input('SourceIPInput'), custom_match: { name: 't', typed_config: { '@type': `${T}xds.type.matcher.v3.IPMatcher`, range_matchers: [{ ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }] } } } },
      /filter_chain_matcher\.matcher_tree\.custom_match\.typed_config\.range_matchers\[0\]\.on_match: required field is missing/],
    ['keep_matching (newer than Legate\'s API)', { on_no_match: { ...chain('a'), keep_matching: true } },
      /filter_chain_matcher\.on_no_match\.keep_matching: unknown field 'keep_matching'/],
  ];
  for (const [what, matcher, error] of refused) t.throws(() => translateListener(listener(matcher)), error, what);
});
