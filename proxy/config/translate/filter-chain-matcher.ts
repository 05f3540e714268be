// Listener.filter_chain_matcher (xds.type.matcher.v3.Matcher) -> ChainMatcher. Envoy's listener
// matcher reads network inputs and its actions are filter chain names (google.protobuf.StringValue);
// matcher_tree (exact_match_map, prefix_match_map, the IPMatcher trie as custom_match) and
// matcher_list (single predicates on a string or IP input matcher, and/or/not) nest through
// on_match.matcher. Any other input, action or custom matcher is refused by name.
import { indexPath, joinPath, keyPath } from '../errors.ts';
import { CHAIN_MATCH_INPUT_TYPES, CHAIN_NAME_ACTION_TYPE, FILTER_STATE_INPUT_TYPE, IP_INPUT_MATCHER_TYPE, IP_TRIE_MATCHER_TYPE } from '../extensions.ts';
import type { ChainMatcher, ChainMatchInput, ChainOnMatch, ChainPredicate, FilterChain } from '../model.ts';
import { bool, cidrRange, list, obj, reject, str, stringMatcher } from './common.ts';
import type { Raw } from './common.ts';

export function filterChainMatcher(raw: Raw, path: string): ChainMatcher {
  const onNoMatchRaw = obj(raw, 'on_no_match');
  const onNoMatch = onNoMatchRaw === undefined ? undefined : onMatch(onNoMatchRaw, joinPath(path, 'on_no_match'));
  const withNoMatch = (m: ChainMatcher): ChainMatcher => (onNoMatch === undefined ? m : { ...m, onNoMatch });
  const tree = obj(raw, 'matcher_tree');
  if (tree !== undefined) return withNoMatch(matcherTree(tree, joinPath(path, 'matcher_tree')));
  const matcherList = obj(raw, 'matcher_list');
  if (matcherList !== undefined) {
    const listPath = joinPath(path, 'matcher_list.matchers');
    const matchers = list(matcherList, 'matchers').map((m, i) => ({
      predicate: predicate(obj(m, 'predicate') ?? {}, joinPath(indexPath(listPath, i), 'predicate')),
      onMatch: onMatch(obj(m, 'on_match') ?? {}, joinPath(indexPath(listPath, i), 'on_match')),
    }));
    return withNoMatch({ kind: 'list', matchers });
  }
  return withNoMatch({ kind: 'on_no_match_only' });
}

function matcherTree(raw: Raw, path: string): ChainMatcher {
  const input = matchInput(obj(raw, 'input') ?? {}, joinPath(path, 'input'));
  for (const kind of ['exact_match_map', 'prefix_match_map'] as const) {
    const map = obj(raw, kind);
    if (map === undefined) continue;
    const entries = Object.entries(obj(map, 'map') ?? {}).map(([key, value]) => ({
      key,
      onMatch: onMatch(value as Raw, keyPath(joinPath(path, `${kind}.map`), key)),
    }));
    return { kind: kind === 'exact_match_map' ? 'exact_map' : 'prefix_map', input, entries };
  }
  const customPath = joinPath(path, 'custom_match');
  const custom = typedConfig(obj(raw, 'custom_match') ?? {}, customPath);
  if (custom['@type'] !== IP_TRIE_MATCHER_TYPE) {
    reject(joinPath(customPath, 'typed_config'), `not supported by Legate: custom matcher '${custom['@type']}' in a filter chain matcher`, `use ${IP_TRIE_MATCHER_TYPE} (the IP trie), exact_match_map or prefix_match_map`);
  }
  const rangesPath = joinPath(customPath, 'typed_config.range_matchers');
  const rangeMatchers = list(custom, 'range_matchers').map((r, i) => {
    const at = indexPath(rangesPath, i);
    const onMatchRaw = obj(r, 'on_match');
    // Envoy would dereference the missing OnMatch; refusing it names the field instead.
    if (onMatchRaw === undefined) reject(joinPath(at, 'on_match'), 'required field is missing', 'give the range an action (a filter chain name) or a nested matcher');
    return {
      ranges: list(r, 'ranges').map((c, j) => cidrRange(c, indexPath(joinPath(at, 'ranges'), j))),
      onMatch: onMatch(onMatchRaw, joinPath(at, 'on_match')),
      exclusive: bool(r, 'exclusive', false),
    };
  });
  return { kind: 'ip_ranges', input, rangeMatchers };
}

function predicate(raw: Raw, path: string): ChainPredicate {
  const single = obj(raw, 'single_predicate');
  if (single !== undefined) return singlePredicate(single, joinPath(path, 'single_predicate'));
  for (const kind of ['or_matcher', 'and_matcher'] as const) {
    const group = obj(raw, kind);
    if (group === undefined) continue;
    const predicates = list(group, 'predicate').map((p, i) => predicate(p, indexPath(joinPath(path, `${kind}.predicate`), i)));
    return { kind: kind === 'or_matcher' ? 'or' : 'and', predicates };
  }
  const not = obj(raw, 'not_matcher');
  if (not !== undefined) return { kind: 'not', predicate: predicate(not, joinPath(path, 'not_matcher')) };
  return reject(path, 'required field is missing', 'set single_predicate, or_matcher, and_matcher or not_matcher');
}

function singlePredicate(raw: Raw, path: string): ChainPredicate {
  const input = matchInput(obj(raw, 'input') ?? {}, joinPath(path, 'input'));
  const value = obj(raw, 'value_match');
  if (value !== undefined) return { kind: 'value', input, matcher: stringMatcher(value, joinPath(path, 'value_match')) };
  const customPath = joinPath(path, 'custom_match');
  const custom = typedConfig(obj(raw, 'custom_match') ?? {}, customPath);
  if (custom['@type'] !== IP_INPUT_MATCHER_TYPE) {
    reject(joinPath(customPath, 'typed_config'), `not supported by Legate: input matcher '${custom['@type']}' in a filter chain matcher`, `use value_match or ${IP_INPUT_MATCHER_TYPE}`);
  }
  const ranges = list(custom, 'cidr_ranges').map((c, i) => cidrRange(c, indexPath(joinPath(customPath, 'typed_config.cidr_ranges'), i)));
  return { kind: 'ip', input, ranges, statPrefix: str(custom, 'stat_prefix') };
}

function onMatch(raw: Raw, path: string): ChainOnMatch {
  const nested = obj(raw, 'matcher');
  if (nested !== undefined) return { kind: 'matcher', matcher: filterChainMatcher(nested, joinPath(path, 'matcher')) };
  const actionPath = joinPath(path, 'action');
  const action = typedConfig(obj(raw, 'action') ?? {}, actionPath);
  if (action['@type'] !== CHAIN_NAME_ACTION_TYPE) {
    reject(joinPath(actionPath, 'typed_config'), `not supported by Legate: action '${action['@type']}' in a filter chain matcher`, `name the filter chain with ${CHAIN_NAME_ACTION_TYPE}`);
  }
  return { kind: 'chain', name: str(action, 'value') };
}

function matchInput(raw: Raw, path: string): ChainMatchInput {
  const config = typedConfig(raw, path);
  if (config['@type'] === FILTER_STATE_INPUT_TYPE) {
    const key = str(config, 'key');
    if (key === '') reject(joinPath(path, 'typed_config.key'), 'required field is missing', 'name the filter state object, e.g. io.istio.connect_authority');
    return { filterState: key };
  }
  const input = CHAIN_MATCH_INPUT_TYPES[config['@type'] as string];
  if (input === undefined) {
    reject(joinPath(path, 'typed_config'), `not supported by Legate: input '${config['@type']}' in a filter chain matcher`, `use one of the network inputs: ${Object.keys(CHAIN_MATCH_INPUT_TYPES).map((t) => t.slice(t.lastIndexOf('.') + 1)).join(', ')}, FilterStateInput`);
  }
  return input as ChainMatchInput;
}

function typedConfig(raw: Raw, path: string): Raw {
  const config = obj(raw, 'typed_config');
  if (config === undefined) return reject(joinPath(path, 'typed_config'), 'required field is missing', 'give the extension its typed_config with an "@type"');
  return config;
}

/**
 * Envoy's rules for the chains a matcher picks from: each has a unique, non-empty name, and its
 * filter_chain_match is ignored. Returns warnings for what Envoy accepts but never serves: a
 * filter_chain_match, and an action naming no chain (its connections are closed).
 */
export function checkNamedChains(chains: FilterChain[], matcher: ChainMatcher, chainsPath: string, matcherPath: string, rawChains: Raw[]): string[] {
  const names = new Set<string>();
  const warnings: string[] = [];
  chains.forEach((chain, i) => {
    const at = indexPath(chainsPath, i);
    if (chain.name === '') reject(joinPath(at, 'name'), '"name" field is required when using a listener matcher', 'name every filter chain; filter_chain_matcher picks chains by name');
    if (names.has(chain.name)) reject(joinPath(at, 'name'), `"name" field is duplicated with value '${chain.name}'`, 'give each filter chain its own name');
    names.add(chain.name);
    if (rawChains[i]?.filter_chain_match !== undefined) warnings.push(`${joinPath(at, 'filter_chain_match')}: ignored, filter_chain_matcher chooses the chain`);
  });
  for (const name of actionNames(matcher)) {
    if (!names.has(name)) warnings.push(`${matcherPath}: no filter chain is named '${name}'; connections it picks for it are closed`);
  }
  return warnings;
}

function actionNames(matcher: ChainMatcher): Set<string> {
  const out = new Set<string>();
  const visit = (m: ChainOnMatch | undefined): void => {
    if (m === undefined) return;
    if (m.kind === 'chain') out.add(m.name);
    else for (const name of actionNames(m.matcher)) out.add(name);
  };
  visit(matcher.onNoMatch);
  if (matcher.kind === 'exact_map' || matcher.kind === 'prefix_map') for (const e of matcher.entries) visit(e.onMatch);
  if (matcher.kind === 'ip_ranges') for (const r of matcher.rangeMatchers) visit(r.onMatch);
  if (matcher.kind === 'list') for (const m of matcher.matchers) visit(m.onMatch);
  return out;
}
