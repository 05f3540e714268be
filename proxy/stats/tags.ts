// Envoy's default tag extraction (source/common/config/well_known_names.cc and the stats tag
// producer): turns `cluster.backend.upstream_rq_200` into the tag-extracted name
// `cluster.upstream_rq` with tags envoy.response_code=200 and envoy.cluster_name=backend, which
// Prometheus output uses as metric name and labels.
//
// As in Envoy, every extractor looks at the full original name; each match removes its first
// capture (the value plus its dot) from the name and contributes its second capture as the value.
// Extractors without a leading literal token run first, then those whose first token matches the
// name's, each group in registration order (all regex extractors, then all token patterns). Tags
// come out in that order.

import { explicitTags } from './tagged-name.ts';

export interface Tag {
  name: string;
  value: string;
}

export interface TaggedName {
  /** The name with the tag values removed, e.g. `cluster.upstream_rq`. */
  extracted: string;
  tags: Tag[];
}

type Match = { start: number; end: number; value: string };

interface Extractor {
  readonly name: string;
  /** The literal first token a name must start with, or '' for any name. */
  readonly prefix: string;
  extract(statName: string, tokens: () => string[]): Match | undefined;
}

// Envoy's pattern shorthands.
const TAG_VALUE = String.raw`[^\.]+`;
const ADDRESS = String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`;
const CIPHER = String.raw`[\w-]+`;
const ROUTE_CONFIG_NAME = String.raw`[\w.-]+`;

function expand(re: string): string {
  return re
    .replaceAll('<ADDRESS>', ADDRESS)
    .replaceAll('<CIPHER>', CIPHER)
    .replaceAll('<TAG_VALUE>', TAG_VALUE)
    .replaceAll('<ROUTE_CONFIG_NAME>', ROUTE_CONFIG_NAME);
}

// Envoy's extractRegexPrefix: `^word\.` or `^word(?=\.)` or `^word$` names its first token.
function regexPrefix(re: string): string {
  const m = /^\^(\w+)(?:\\\.|\(\?=\\\.\)|\$$)/.exec(re);
  return m === null ? '' : m[1];
}

class RegexExtractor implements Extractor {
  readonly name: string;
  readonly prefix: string;
  readonly #re: RegExp;
  readonly #substr: string;
  readonly #negative: string;

  constructor(name: string, re: string, substr = '', negative = '') {
    const source = expand(re);
    this.name = name;
    this.prefix = regexPrefix(source);
    this.#re = new RegExp(source, 'd');
    this.#substr = substr;
    this.#negative = negative;
  }

  extract(statName: string): Match | undefined {
    if (this.#substr !== '' && !statName.includes(this.#substr)) return undefined;
    const m = this.#re.exec(statName);
    if (m === null || m[1] === undefined || m[1] === '') return undefined;
    const value = m[2] !== undefined && m[2] !== '' ? m[2] : m[1];
    if (value === this.#negative) return undefined;
    const [start, end] = m.indices![1]!;
    return { start, end, value };
  }
}

// Envoy's TagExtractorTokensImpl: '*' is one token, '**' any run of tokens, '$' the captured one.
class TokenExtractor implements Extractor {
  readonly name: string;
  readonly prefix: string;
  readonly #pattern: string[];
  readonly #capture: number;

  constructor(name: string, pattern: string) {
    this.name = name;
    this.#pattern = pattern.split('.');
    this.#capture = this.#pattern.indexOf('$');
    const first = this.#pattern[0];
    this.prefix = first === '$' || first === '*' || first === '**' ? '' : first;
  }

  extract(_statName: string, tokens: () => string[]): Match | undefined {
    const input = tokens();
    const found = { start: 0, index: -1 };
    if (!this.#search(input, 0, 0, 0, found)) return undefined;
    const value = input[found.index];
    let start = found.start;
    let end = start + value.length;
    // Take the dot after the value, or before it when the value is the last token.
    if (found.index < input.length - 1) end++;
    else if (start > 0) start--;
    return { start, end, value };
  }

  #search(input: string[], inputIndex: number, patternIndex: number, charIndex: number, found: { start: number; index: number }): boolean {
    const pattern = this.#pattern;
    for (; inputIndex < input.length && patternIndex < pattern.length; inputIndex++, patternIndex++) {
      if (patternIndex === this.#capture) {
        found.start = charIndex;
        found.index = inputIndex;
      } else {
        const expected = pattern[patternIndex];
        if (expected === '**') {
          if (patternIndex === pattern.length - 1) return true;
          for (; inputIndex < input.length; inputIndex++) {
            if (this.#search(input, inputIndex, patternIndex + 1, charIndex, found)) return true;
            charIndex += input[inputIndex].length + 1;
          }
          return false;
        }
        if (expected !== '*' && expected !== input[inputIndex]) return false;
      }
      charIndex += input[inputIndex].length + 1;
    }
    return patternIndex === pattern.length && inputIndex === input.length;
  }
}

// The default extractors, in Envoy's order. (The TLS curve/sigalg/version, ext_authz, listener
// local rate limit and DNS filter extractors are left out: Legate emits none of those stats.)
const REGEX_EXTRACTORS: Extractor[] = [
  new RegexExtractor('envoy.response_code', String.raw`_rq(_(\d{3}))$`, '_rq_'),
  new RegexExtractor('envoy.response_code_class', String.raw`_rq_((\d))xx$`, '_rq_'),
  new RegexExtractor(
    'envoy.dynamo_partition_id',
    String.raw`^http\.<TAG_VALUE>\.dynamodb\.table\.<TAG_VALUE>\.capacity\.<TAG_VALUE>(\.__partition_id=(\w{7}))$`,
    '.dynamodb.table.',
  ),
  new RegexExtractor(
    'envoy.dynamo_operation',
    String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:operation|table\.<TAG_VALUE>\.capacity)(\.(<TAG_VALUE>))(?:\.|$)`,
    '.dynamodb.',
  ),
  new RegexExtractor('envoy.dynamo_table', String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:table|error)\.((<TAG_VALUE>)\.)`, '.dynamodb.'),
  new RegexExtractor('envoy.ssl_cipher', String.raw`^listener\..*?\.ssl\.ciphers(\.(<CIPHER>))$`, '.ssl.ciphers.'),
  new RegexExtractor('cipher_suite', String.raw`^cluster\.<TAG_VALUE>\.ssl\.ciphers(\.(<CIPHER>))$`, '.ssl.ciphers.'),
  new RegexExtractor('envoy.http_conn_manager_prefix', String.raw`^listener\..*?\.http\.((<TAG_VALUE>)\.)`, '.http.'),
  new RegexExtractor(
    'envoy.worker_id',
    String.raw`^(?:listener\.(?:<ADDRESS>|<TAG_VALUE>)\.|server\.|listener_manager\.)worker_((\d+)\.)`,
  ),
  new RegexExtractor('envoy.listener_address', String.raw`^listener\.((<ADDRESS>|<TAG_VALUE>)\.)`, '', 'admin'),
  new RegexExtractor('envoy.rds_route_config', String.raw`^http\.<TAG_VALUE>\.rds\.((<ROUTE_CONFIG_NAME>)\.)\w+?$`, '.rds.'),
];

const TOKEN_EXTRACTORS: Extractor[] = [
  new TokenExtractor('envoy.mongo_callsite', 'mongo.*.collection.*.callsite.$.query.**'),
  new TokenExtractor('envoy.mongo_collection', 'mongo.*.collection.$.**.query.*'),
  new TokenExtractor('envoy.mongo_cmd', 'mongo.*.cmd.$.**'),
  new TokenExtractor('envoy.grpc_bridge_method', 'cluster.*.grpc.*.$.**'),
  new TokenExtractor('envoy.http_user_agent', 'http.*.user_agent.$.**'),
  new TokenExtractor('envoy.virtual_cluster', 'vhost.*.vcluster.$.**'),
  new TokenExtractor('envoy.fault_downstream_cluster', 'http.*.fault.$.**'),
  new TokenExtractor('envoy.grpc_bridge_service', 'cluster.*.grpc.$.**'),
  new TokenExtractor('envoy.tcp_prefix', 'tcp.$.**'),
  new TokenExtractor('envoy.udp_prefix', 'udp.$.**'),
  new TokenExtractor('envoy.clientssl_prefix', 'auth.clientssl.$.**'),
  new TokenExtractor('envoy.ratelimit_prefix', 'ratelimit.$.**'),
  new TokenExtractor('envoy.cluster_name', 'cluster.$.**'),
  new TokenExtractor('envoy.http_conn_manager_prefix', 'http.$.**'),
  new TokenExtractor('envoy.virtual_host', 'vhost.$.**'),
  new TokenExtractor('envoy.mongo_prefix', 'mongo.$.**'),
  new TokenExtractor('envoy.route', 'vhost.*.route.$.**'),
  new TokenExtractor('envoy.thrift_prefix', 'thrift.$.**'),
  new TokenExtractor('envoy.redis_prefix', 'redis.$.**'),
  new TokenExtractor('envoy.local_http_ratelimit_prefix', '$.http_local_rate_limit.**'),
  new TokenExtractor('envoy.local_network_ratelimit_prefix', 'local_rate_limit.$.**'),
];

/** A stats_tags entry: a named regex (first capture removed, second the value), a fixed value, or a default by name. */
export interface TagSpecifier {
  name: string;
  regex?: string;
  fixedValue?: string;
}

// Envoy compiles stats_tags regexes as ECMAScript std::regex, which has POSIX classes in brackets
// (Istio's bootstrap uses [:digit:]); JavaScript has not.
const POSIX_CLASSES: Record<string, string> = {
  digit: '0-9', alpha: 'a-zA-Z', alnum: 'a-zA-Z0-9', upper: 'A-Z', lower: 'a-z', space: String.raw`\s`, xdigit: '0-9A-Fa-f', w: String.raw`\w`,
};

export function posixToJs(regex: string): string {
  return regex.replace(/\[:(\w+):\]/g, (whole, name: string) => POSIX_CLASSES[name] ?? whole);
}

const DEFAULTS = [...REGEX_EXTRACTORS, ...TOKEN_EXTRACTORS];

/**
 * Envoy's TagProducer for one stats_config: the default extractors (unless use_all_default_tags is
 * false), then each stats_tags entry (a regex of its own, or a default one by name), then fixed
 * tags on every stat. Throws on a regex that does not compile or a name with no default.
 */
export class TagProducer {
  readonly #anyPrefix: Extractor[] = [];
  readonly #byPrefix = new Map<string, Extractor[]>();
  readonly #fixed: Tag[] = [];
  readonly #cache = new Map<string, TaggedName>();

  constructor(specifiers: readonly TagSpecifier[] = [], useAllDefaultTags = true) {
    const added = new Set<string>();
    const add = (e: Extractor) => {
      added.add(e.name);
      if (e.prefix === '') this.#anyPrefix.push(e);
      else {
        let list = this.#byPrefix.get(e.prefix);
        if (list === undefined) this.#byPrefix.set(e.prefix, (list = []));
        list.push(e);
      }
    };
    if (useAllDefaultTags) DEFAULTS.forEach(add);
    for (const spec of specifiers) {
      if (spec.fixedValue !== undefined) this.#fixed.push({ name: spec.name, value: spec.fixedValue });
      else if (spec.regex !== undefined && spec.regex !== '') add(new RegexExtractor(spec.name, posixToJs(spec.regex)));
      else if (!added.has(spec.name)) {
        const defaults = DEFAULTS.filter((e) => e.name === spec.name);
        if (defaults.length === 0) throw new Error(`no regex given for tag '${spec.name}' and Envoy has no default tag of that name`);
        defaults.forEach(add);
      }
    }
  }

  /** The tag-extracted name and tags of one stat name (memoised). */
  extract(statName: string): TaggedName {
    let t = this.#cache.get(statName);
    if (t === undefined) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      t = this.#extract(statName);
      this.#cache.set(statName, t);
    }
    return t;
  }

  #extract(statName: string): TaggedName {
    const explicit = explicitTags(statName);
    if (explicit !== undefined) return this.#fixed.length === 0 ? explicit : { extracted: explicit.extracted, tags: [...explicit.tags, ...this.#fixed] };
    const tags: Tag[] = [];
    const removed: Array<[number, number]> = [];
    let tokens: string[] | undefined;
    const getTokens = () => (tokens ??= statName.split('.'));
    const run = (e: Extractor) => {
      // A second extractor for the same tag name (http_conn_manager_prefix has two) is skipped.
      if (tags.some((t) => t.name === e.name)) return;
      const m = e.extract(statName, getTokens);
      if (m === undefined) return;
      tags.push({ name: e.name, value: m.value });
      removed.push([m.start, m.end]);
    };
    for (const e of this.#anyPrefix) run(e);
    const dot = statName.indexOf('.');
    if (dot >= 0) for (const e of this.#byPrefix.get(statName.slice(0, dot)) ?? []) run(e);
    return { extracted: removeRanges(statName, removed), tags: this.#fixed.length === 0 ? tags : [...tags, ...this.#fixed] };
  }
}

function removeRanges(s: string, ranges: Array<[number, number]>): string {
  if (ranges.length === 0) return s;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let pos = 0;
  for (const [start, end] of ranges) {
    if (start > pos) out += s.slice(pos, start);
    if (end > pos) pos = end;
  }
  return out + s.slice(pos);
}

// Stat names are few and stable, so each is extracted once; the cap only guards against churn.
const CACHE_LIMIT = 200_000;

/** Envoy's default tag extraction (no stats_config). */
export const DEFAULT_TAG_PRODUCER = new TagProducer();

/** Envoy's default tag extraction for one stat name (memoised). */
export function extractTags(statName: string): TaggedName {
  return DEFAULT_TAG_PRODUCER.extract(statName);
}
