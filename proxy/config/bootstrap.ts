// Reads a config file (YAML or JSON; JSON is parsed as YAML, which keeps positions for both) and
// keeps the parsed document so an error's field path can be mapped back to a line.
// The yaml package is loaded on first use: a worker process that reads no file never loads it.
import { createRequire } from 'node:module';
import type { CST, Document, Node as YamlNode } from 'yaml';
import { ConfigError, parsePath } from './errors.ts';
import { readRegularFile } from './local-file.ts';

let yamlModule: typeof import('yaml') | undefined;

function yaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}

export interface ConfigFile {
  file: string;
  raw: unknown;
  // The 1-based line of the field at `path` (snake_case or lowerCamelCase in the file), or of
  // its nearest ancestor that exists in the file; undefined when nothing matches.
  locate(path: string): number | undefined;
}

export function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = readRegularFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError('', `cannot read config file (${code})`, 'check the path and its permissions', file);
  }
  return parseConfigText(text, file);
}

/**
 * How deep collections may nest. The yaml package composes and converts documents recursively: a
 * file nested thousands of levels deep overflowed the stack at a depth that varied from call to
 * call (with JIT state), so the same file failed with different errors. Its CST parser is not
 * recursive, so the depth is checked there, before composing. Envoy's configs nest a few dozen
 * levels; protobuf's own parsers stop at 100.
 */
export const MAX_CONFIG_DEPTH = 100;

export function parseConfigText(text: string, file: string): ConfigFile {
  const { Composer, LineCounter, Parser } = yaml();
  const lineCounter = new LineCounter();
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  const tooDeep = offsetPastDepth(tokens, MAX_CONFIG_DEPTH);
  if (tooDeep !== undefined) {
    throw new ConfigError('', `collections nested more than ${MAX_CONFIG_DEPTH} levels deep`, 'flatten the file; no Envoy config nests this deep', file, lineAt(tooDeep));
  }
  // What parseDocument does: the first document, and an error if there are more.
  const composer = new Composer({ prettyErrors: false, uniqueKeys: true });
  let doc: Document | undefined;
  for (const next of composer.compose(tokens, true, text.length)) {
    if (doc === undefined) doc = next;
    else {
      doc.errors.push(new (yaml().YAMLParseError)(next.range.slice(0, 2) as [number, number], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
      break;
    }
  }
  if (doc === undefined) throw new ConfigError('', 'the file does not hold an object', 'write an Envoy v3 Bootstrap as a YAML or JSON object', file, 1);
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const what = problem.message.split('\n')[0];
    throw new ConfigError('', `invalid ${looksLikeJson(file, text) ? 'JSON/YAML' : 'YAML'}: ${what}`, 'fix the syntax', file, lineAt(problem.pos[0]));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ConfigError('', `invalid YAML: ${(err as Error).message}`, 'fix the syntax', file);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('', 'the file does not hold an object', 'write an Envoy v3 Bootstrap as a YAML or JSON object', file, 1);
  }
  return { file, raw, locate: (path) => locateIn(doc, path, lineAt) };
}

/** The offset of the first collection nested deeper than `max`, walking the CST without recursion. */
function offsetPastDepth(tokens: CST.Token[], max: number): number | undefined {
  const stack: [token: unknown, depth: number][] = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (token === null || typeof token !== 'object') continue;
    const t = token as { type?: string; offset?: number; value?: unknown; items?: { key?: unknown; value?: unknown }[] };
    if (t.type === 'document') {
      stack.push([t.value, depth]);
      continue;
    }
    if (t.items === undefined) continue;
    if (depth + 1 > max) return t.offset;
    for (const item of t.items) {
      stack.push([item.key, depth + 1], [item.value, depth + 1]);
    }
  }
  return undefined;
}

function looksLikeJson(file: string, text: string): boolean {
  return file.endsWith('.json') || text.trimStart().startsWith('{');
}

function locateIn(doc: Document, path: string, lineAt: (offset: number) => number): number | undefined {
  let node: unknown = doc.contents;
  let found: number | undefined = offsetOf(node);
  for (const segment of parsePath(path)) {
    const next = step(node, segment);
    if (next === undefined) break;
    node = next.node;
    found = next.offset ?? found;
  }
  return found === undefined ? undefined : lineAt(found);
}

function step(node: unknown, segment: string | number): { node: unknown; offset: number | undefined } | undefined {
  const { isMap, isPair, isScalar, isSeq } = yaml();
  if (typeof segment === 'number') {
    if (!isSeq(node)) return undefined;
    const item = node.items[segment];
    return item === undefined ? undefined : { node: item, offset: offsetOf(item) };
  }
  if (!isMap(node)) return undefined;
  const camel = snakeToCamel(segment);
  for (const pair of node.items) {
    if (!isPair(pair)) continue;
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (key === segment || key === camel) {
      // The key's line: that is where the reader looks for "field:".
      return { node: pair.value, offset: offsetOf(pair.key) ?? offsetOf(pair.value) };
    }
  }
  return undefined;
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as YamlNode | null)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}
