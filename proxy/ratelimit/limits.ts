// The limits of the rate limit service, in envoyproxy/ratelimit's file format: one domain per
// YAML file, descriptors nested by key (and optional value), each level with an optional
// rate_limit. Loaded from a file or a directory of them; errors name file, line and field.
// lookup() is envoyproxy/ratelimit's GetLimit: walk the request's entries level by level, trying
// `key_value`, then a `key_prefix*` wildcard, then the bare `key` (a default for any value).
import { join } from 'node:path';
// Not config/index.ts: that is the whole translator, which a worker process has no use for.
import { readConfigFile, type ConfigFile } from '../config/bootstrap.ts';
import { ConfigError } from '../config/errors.ts';

// Not an ESM import: that reads every export of node:fs, loading what its lazy ones need.
const { readdirSync, statSync } = process.getBuiltinModule('node:fs');

export type RateLimitUnit = 'second' | 'minute' | 'hour' | 'day';

export const UNIT_SECONDS: Readonly<Record<RateLimitUnit, number>> = { second: 1, minute: 60, hour: 3600, day: 86400 };

export interface RateLimit {
  /** `domain.key_value.key2`: the limit's identity and its stats name. */
  readonly fullKey: string;
  readonly requestsPerUnit: number;
  readonly unit: RateLimitUnit; // 'second' for unlimited ones (unused)
  readonly unlimited: boolean;
  readonly shadowMode: boolean;
  readonly name: string;
  readonly replaces: readonly string[];
  /** detailed_metric: a limit found through a bare key counts its stats per request value. */
  readonly detailedMetric: boolean;
}

export interface DescriptorEntry {
  key: string;
  value: string;
}

/** A request's descriptor: its entries in order. */
export type Descriptor = readonly DescriptorEntry[];

/** The limit a descriptor falls under, and the stats key its hits count under. */
export interface LimitMatch {
  limit: RateLimit;
  statsKey: string;
}

interface Level {
  children: Map<string, Node>; // by 'key_value' or 'key'
  wildcards: string[]; // child keys ending in '*', matched by prefix on 'key_value'
}

interface Node extends Level {
  limit: RateLimit | undefined;
}

const FILE_KEYS = new Set(['domain', 'descriptors']);
const DESCRIPTOR_KEYS = new Set(['key', 'value', 'rate_limit', 'descriptors', 'shadow_mode', 'detailed_metric']);
const RATE_LIMIT_KEYS = new Set(['unit', 'requests_per_unit', 'unlimited', 'name', 'replaces']);

export class Limits {
  private readonly domains: Map<string, Level>;

  private constructor(domains: Map<string, Level>) {
    this.domains = domains;
  }

  /** Every configured limit, for stats that exist before the first hit. */
  all(): RateLimit[] {
    const out: RateLimit[] = [];
    const walk = (level: Level) => {
      for (const node of level.children.values()) {
        if (node.limit !== undefined) out.push(node.limit);
        walk(node);
      }
    };
    for (const level of this.domains.values()) walk(level);
    return out;
  }

  hasDomain(domain: string): boolean {
    return this.domains.has(domain);
  }

  lookup(domain: string, descriptor: Descriptor): LimitMatch | undefined {
    let level = this.domains.get(domain);
    let match: LimitMatch | undefined;
    for (let i = 0; level !== undefined && i < descriptor.length; i++) {
      const { key, value } = descriptor[i];
      const keyValue = `${key}_${value}`;
      let node = level.children.get(keyValue);
      for (let w = 0; node === undefined && w < level.wildcards.length; w++) {
        const wildcard = level.wildcards[w];
        if (keyValue.startsWith(wildcard.slice(0, -1))) node = level.children.get(wildcard);
      }
      let byDefault = false;
      if (node === undefined) {
        node = level.children.get(key);
        byDefault = true;
      }
      if (node === undefined) break;
      // Only a limit at the request's own depth applies.
      if (node.limit !== undefined && i === descriptor.length - 1) {
        const limit = node.limit;
        match = { limit, statsKey: limit.detailedMetric && byDefault ? `${limit.fullKey}_${value}` : limit.fullKey };
      }
      level = node.children.size > 0 ? node : undefined;
    }
    return match;
  }

  /** Reads a limits file, or every .yaml/.yml file of a directory. */
  static load(path: string): Limits {
    let files = [path];
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (err) {
      throw new ConfigError('', `cannot read rate limit config (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'check limits_path', path);
    }
    if (isDirectory) {
      files = readdirSync(path)
        .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
        .sort()
        .map((name) => join(path, name));
    }
    return Limits.fromFiles(files.map((file) => readConfigFile(file)));
  }

  static fromFiles(files: readonly ConfigFile[]): Limits {
    const domains = new Map<string, Level>();
    for (const file of files) {
      const fail = (path: string, what: string, hint = ''): never => {
        throw new ConfigError(path, what, hint, file.file, file.locate(path));
      };
      const raw = file.raw as Record<string, unknown>;
      checkKeys(raw, FILE_KEYS, '', fail);
      const domain = raw.domain;
      if (typeof domain !== 'string' || domain === '') fail('domain', 'config file cannot have empty domain', 'set domain to the rate limit filter\'s domain');
      if (domains.has(domain as string)) fail('domain', `duplicate domain '${String(domain)}' in config file`, 'give each domain one file');
      const level: Level = { children: new Map(), wildcards: [] };
      loadDescriptors(level, raw.descriptors, 'descriptors', `${String(domain)}.`, fail);
      domains.set(domain as string, level);
    }
    return new Limits(domains);
  }
}

type Fail = (path: string, what: string, hint?: string) => never;

function checkKeys(raw: Record<string, unknown>, allowed: ReadonlySet<string>, path: string, fail: Fail): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key)) fail(path === '' ? key : `${path}.${key}`, `unknown key '${key}'`, `use ${[...allowed].join(', ')}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function loadDescriptors(level: Level, raw: unknown, path: string, parentKey: string, fail: Fail): void {
  if (raw === undefined || raw === null) return;
  if (!Array.isArray(raw)) fail(path, 'expected a list of descriptors');
  (raw as unknown[]).forEach((item, i) => {
    const itemPath = `${path}[${i}]`;
    if (!isObject(item)) return fail(itemPath, 'expected a descriptor { key, value, rate_limit, descriptors }');
    checkKeys(item, DESCRIPTOR_KEYS, itemPath, fail);
    const key = stringField(item, 'key', itemPath, fail);
    if (key === '') fail(`${itemPath}.key`, 'descriptor has empty key');
    const value = stringField(item, 'value', itemPath, fail);
    const finalKey = value === '' ? key : `${key}_${value}`;
    const fullKey = parentKey + finalKey;
    if (level.children.has(finalKey)) fail(itemPath, `duplicate descriptor composite key '${fullKey}'`);
    const node: Node = { children: new Map(), wildcards: [], limit: undefined };
    if (item.rate_limit !== undefined && item.rate_limit !== null) {
      node.limit = rateLimit(item, fullKey, itemPath, fail);
    }
    loadDescriptors(node, item.descriptors, `${itemPath}.descriptors`, `${fullKey}.`, fail);
    level.children.set(finalKey, node);
    if (finalKey.endsWith('*')) level.wildcards.push(finalKey);
  });
}

function rateLimit(item: Record<string, unknown>, fullKey: string, itemPath: string, fail: Fail): RateLimit {
  const path = `${itemPath}.rate_limit`;
  const raw = item.rate_limit;
  if (!isObject(raw)) return fail(path, 'expected { unit, requests_per_unit }');
  checkKeys(raw, RATE_LIMIT_KEYS, path, fail);
  const unlimited = boolField(raw, 'unlimited', path, fail);
  const unitText = stringField(raw, 'unit', path, fail).toLowerCase();
  const unit = unitText in UNIT_SECONDS ? (unitText as RateLimitUnit) : undefined;
  if (unlimited && unit !== undefined) fail(`${path}.unit`, 'should not specify rate limit unit when unlimited', 'remove unit');
  if (!unlimited && unit === undefined) fail(`${path}.unit`, `invalid rate limit unit '${unitText}'`, 'use second, minute, hour or day');
  const requests = raw.requests_per_unit ?? 0;
  if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 0 || requests > 0xffffffff) {
    fail(`${path}.requests_per_unit`, 'expected a whole number of requests (0 to 4294967295)');
  }
  const name = stringField(raw, 'name', path, fail);
  const replacesRaw = raw.replaces ?? [];
  if (!Array.isArray(replacesRaw)) fail(`${path}.replaces`, 'expected a list of { name }');
  const replaces = (replacesRaw as unknown[]).map((r, i) => {
    const replaced = isObject(r) && typeof r.name === 'string' ? r.name : '';
    if (replaced === '') fail(`${path}.replaces[${i}]`, 'should not have an empty replaces entry', 'give { name: <limit name> }');
    if (replaced === name) fail(`${path}.replaces[${i}]`, 'replaces should not contain name of same descriptor');
    return replaced;
  });
  return {
    fullKey,
    requestsPerUnit: requests as number,
    unit: unit ?? 'second',
    unlimited,
    shadowMode: boolField(item, 'shadow_mode', itemPath, fail),
    name,
    replaces,
    detailedMetric: boolField(item, 'detailed_metric', itemPath, fail),
  };
}

function stringField(raw: Record<string, unknown>, key: string, path: string, fail: Fail): string {
  const value = raw[key];
  if (value === undefined || value === null) return '';
  // YAML reads `value: 80` as a number; envoyproxy/ratelimit reads it as the string "80".
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') fail(path === '' ? key : `${path}.${key}`, 'expected a string');
  return value as string;
}

function boolField(raw: Record<string, unknown>, key: string, path: string, fail: Fail): boolean {
  const value = raw[key] ?? false;
  if (typeof value !== 'boolean') fail(`${path}.${key}`, 'expected true or false');
  return value as boolean;
}
