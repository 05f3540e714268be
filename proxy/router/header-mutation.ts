// request/response_headers_to_add and _to_remove of a weighted cluster, route, virtual host and
// route config. Each level is compiled once per snapshot and shared by every route that inherits
// it; a route's HeaderMutator is just its chain of levels, most specific first. Applying them in
// that order lets the less specific level win on overwrite: Envoy's default
// (most_specific_header_mutations_wins: false).
import type { HeaderAppendAction, HeaderMutations, HeaderValueOption } from '../config/model.ts';

// node's request headers (IncomingHttpHeaders) or response headers (OutgoingHttpHeaders, which
// may hold numbers); mutated in place.
export type MutableHeaderMap = Record<string, string | string[] | number | undefined>;

// Compiles an Envoy header value format string (%REQ(x)%, %UPSTREAM_HOST%, ...) into a function.
export type ValueCompiler<C> = (template: string) => (ctx: C) => string;

// For callers with no formatter: a value is used as written.
export function literalValue(template: string): () => string {
  return () => template;
}

interface HeaderAdd<C> {
  readonly key: string;
  readonly literal: string | undefined; // the value, when it holds no '%' operator
  readonly format: ((ctx: C) => string) | undefined;
  readonly action: HeaderAppendAction;
  readonly keepEmptyValue: boolean;
  readonly overwrites: boolean;
}

function appendHeader(headers: MutableHeaderMap, key: string, value: string): void {
  const current = headers[key];
  if (current === undefined) headers[key] = value;
  else if (Array.isArray(current)) headers[key] = current.concat(value); // the array may be shared with the message it came from
  else headers[key] = [String(current), value];
}

// One direction (request or response) of one level, as Envoy's HeaderParser::evaluateHeaders:
// removes first; then every value is formatted and every condition tested against the headers
// as they were before this level added anything; then overwrites; then appends.
export class HeaderOperations<C> {
  private readonly removes: readonly string[];
  private readonly adds: readonly HeaderAdd<C>[];
  // the values decided in the first pass; apply is synchronous, so one buffer per level suffices
  private readonly pending: (string | undefined)[];

  constructor(removes: readonly string[], adds: readonly HeaderValueOption[], compileValue: ValueCompiler<C>) {
    this.removes = removes;
    this.adds = adds.map((option) => {
      const templated = option.value.includes('%');
      return {
        key: option.key,
        literal: templated ? undefined : option.value,
        format: templated ? compileValue(option.value) : undefined,
        action: option.appendAction,
        keepEmptyValue: option.keepEmptyValue,
        overwrites:
          option.appendAction === 'OVERWRITE_IF_EXISTS_OR_ADD' || option.appendAction === 'OVERWRITE_IF_EXISTS',
      };
    });
    this.pending = new Array<string | undefined>(adds.length);
  }

  apply(headers: MutableHeaderMap, ctx: C): void {
    const { removes, adds, pending } = this;
    for (let i = 0; i < removes.length; i++) delete headers[removes[i]];
    if (adds.length === 0) return;
    for (let i = 0; i < adds.length; i++) {
      const add = adds[i];
      const value = add.literal ?? add.format!(ctx);
      let decided: string | undefined = value;
      if (value === '' && !add.keepEmptyValue) decided = undefined;
      else if (add.action === 'ADD_IF_ABSENT' && headers[add.key] !== undefined) decided = undefined;
      else if (add.action === 'OVERWRITE_IF_EXISTS' && headers[add.key] === undefined) decided = undefined;
      pending[i] = decided;
    }
    for (let i = 0; i < adds.length; i++) {
      const value = pending[i];
      if (value !== undefined && adds[i].overwrites) headers[adds[i].key] = value;
    }
    for (let i = 0; i < adds.length; i++) {
      const value = pending[i];
      if (value !== undefined && !adds[i].overwrites) appendHeader(headers, adds[i].key, value);
      pending[i] = undefined;
    }
  }
}

export interface HeaderMutationLevel<C> {
  readonly request: HeaderOperations<C> | undefined; // undefined when the level has nothing to do
  readonly response: HeaderOperations<C> | undefined;
}

export function compileHeaderMutationLevel<C>(
  mutations: HeaderMutations,
  compileValue: ValueCompiler<C>,
): HeaderMutationLevel<C> {
  const side = (removes: string[], adds: HeaderValueOption[]) =>
    removes.length === 0 && adds.length === 0 ? undefined : new HeaderOperations(removes, adds, compileValue);
  return {
    request: side(mutations.requestHeadersToRemove, mutations.requestHeadersToAdd),
    response: side(mutations.responseHeadersToRemove, mutations.responseHeadersToAdd),
  };
}

export class HeaderMutator<C> {
  private readonly request: readonly HeaderOperations<C>[];
  private readonly response: readonly HeaderOperations<C>[];

  // levels: most specific first (weighted cluster, route, virtual host, route config)
  constructor(levels: readonly HeaderMutationLevel<C>[]) {
    this.request = levels.flatMap((level) => (level.request === undefined ? [] : [level.request]));
    this.response = levels.flatMap((level) => (level.response === undefined ? [] : [level.response]));
  }

  applyRequest(headers: MutableHeaderMap, ctx: C): void {
    for (let i = 0; i < this.request.length; i++) this.request[i].apply(headers, ctx);
  }

  applyResponse(headers: MutableHeaderMap, ctx: C): void {
    for (let i = 0; i < this.response.length; i++) this.response[i].apply(headers, ctx);
  }
}
