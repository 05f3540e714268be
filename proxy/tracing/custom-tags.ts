// HttpConnectionManager.tracing.custom_tags, compiled once: a literal, an environment variable
// (read when the config is loaded, as Envoy does), a request header (its first value), or request
// metadata (Legate's filters write none, so the default). A tag with no value and no default is
// not set.
import type { CustomTag } from '../config/model.ts';
import type { Span } from './span.ts';

/** Request headers as the stream info keeps them. */
export type TagHeaders = Readonly<Record<string, string | string[] | number | undefined>>;

export type CompiledTag = (span: Span, headers: TagHeaders | undefined) => void;

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
    case 'environment':
    case 'request_metadata': {
      const value = t.kind === 'environment' ? (process.env[t.name] ?? t.defaultValue) : t.defaultValue;
      return value === '' ? () => {} : (span) => span.setTag(name, value);
    }
    case 'request_header': {
      const header = t.name;
      const fallback = t.defaultValue;
      return (span, headers) => {
        const raw = headers?.[header];
        const value = raw === undefined ? fallback : Array.isArray(raw) ? raw[0] : String(raw);
        if (value !== '') span.setTag(name, value);
      };
    }
  }
}
