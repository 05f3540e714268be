// HttpConnectionManager.tracing.custom_tags, compiled once: a literal, an environment variable
// (read when the config is loaded, as Envoy does), a request header (its first value), or a key of
// the request's dynamic metadata (e.g. the rbac filter's shadow verdict). A tag with no value and
// no default is not set.
import type { CustomTag, MetadataValue } from '../config/model.ts';
import type { Span } from './span.ts';

/** Request headers as the stream info keeps them. */
export type TagHeaders = Readonly<Record<string, string | string[] | number | undefined>>;

/** A value a filter left in the request's dynamic metadata. */
export type MetadataLookup = (filter: string, key: string) => MetadataValue | undefined;

/** What a tag reads from the request. */
export interface TagSource {
  headers: TagHeaders | undefined;
  metadata: MetadataLookup;
}

export type CompiledTag = (span: Span, request: TagSource) => void;

export function compileCustomTags(tags: readonly CustomTag[]): CompiledTag[] {
  return tags.map(compileTag);
}

function compileTag(t: CustomTag): CompiledTag {
  const name = t.tag;
  switch (t.kind) {
    case 'literal': {
      const value = t.value;
      return (span) => span.setTag(name, value);
    }
    case 'environment': {
      const value = process.env[t.name] ?? t.defaultValue;
      return value === '' ? () => {} : (span) => span.setTag(name, value);
    }
    case 'request_metadata': {
      const { filter, key, defaultValue } = t;
      return (span, request) => {
        // Envoy's: a string, number or bool as text, a struct or list as JSON, else the default.
        const found = request.metadata(filter, key);
        const value = found === undefined || found === null ? defaultValue : typeof found === 'object' ? JSON.stringify(found) : String(found);
        if (value !== '') span.setTag(name, value);
      };
    }
    case 'request_header': {
      const header = t.name;
      const fallback = t.defaultValue;
      return (span, request) => {
        const raw = request.headers?.[header];
        const value = raw === undefined ? fallback : Array.isArray(raw) ? raw[0] : String(raw);
        if (value !== '') span.setTag(name, value);
      };
    }
  }
}
