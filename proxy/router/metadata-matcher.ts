// Envoy's MetadataMatcher and ValueMatcher (source/common/common/matchers.cc), compiled once: the
// value at filter / path of the dynamic metadata against a ValueMatcher, then invert. A namespace,
// key or struct missing on the way gives Envoy's unset Value, which no ValueMatcher matches (not
// even present_match: false), so an inverted matcher is the only one that takes it. The one
// matcher for RBAC's metadata rules and ext_authz's filter_enabled_metadata.
import { metadataValueAt } from '../access-log/index.ts';
import type { MetadataMatch, MetadataStruct, MetadataValue, ValueMatch } from '../config/model.ts';
import { compileStringMatcher } from './match.ts';

/** A stream's dynamic metadata: a Struct per filter namespace. */
export type DynamicMetadata = Readonly<Record<string, MetadataStruct>>;

export type MetadataPredicate = (metadata: DynamicMetadata | undefined) => boolean;

/** undefined is the unset Value; null is google.protobuf.NullValue. */
export type ValuePredicate = (value: MetadataValue | undefined) => boolean;

export function compileMetadataMatcher(match: MetadataMatch): MetadataPredicate {
  const test = compileValueMatcher(match.value);
  const { filter, path, invert } = match;
  return (metadata) => test(metadataValueAt(metadata, filter, path)) !== invert;
}

export function compileValueMatcher(match: ValueMatch): ValuePredicate {
  switch (match.kind) {
    case 'null':
      return (value) => value === null;
    case 'double_exact': {
      const expected = match.value;
      return (value) => typeof value === 'number' && value === expected;
    }
    case 'double_range': {
      const { start, end } = match;
      return (value) => typeof value === 'number' && start <= value && value < end;
    }
    case 'string': {
      const test = compileStringMatcher(match.matcher);
      return (value) => typeof value === 'string' && test(value);
    }
    case 'bool': {
      const expected = match.value;
      return (value) => value === expected;
    }
    case 'present':
      return match.present ? (value) => value !== undefined : () => false;
    case 'list_one_of': {
      const item = compileValueMatcher(match.item);
      return (value) => Array.isArray(value) && (value as readonly MetadataValue[]).some(item);
    }
    case 'or': {
      const matchers = match.matchers.map(compileValueMatcher);
      return (value) => matchers.some((m) => m(value));
    }
  }
}
