// GET /config_dump: Envoy's ConfigDump (the sections come from the context), with Envoy's query
// parameters: include_eds, resource (one repeated field of the sections, each element its own
// config), name_regex (only resources of that name) and mask (a FieldMask on each config). Key
// material is never shown, as in Envoy's dump: private keys, passwords, ticket keys, generic secrets.
import { json, text, type AdminHandler } from '../context.ts';

type Json = Record<string, unknown>;

// The element type of each repeated field a section has, for ?resource=.
const ELEMENT_TYPES: Record<string, string> = {
  static_clusters: 'ClustersConfigDump.StaticCluster',
  dynamic_active_clusters: 'ClustersConfigDump.DynamicCluster',
  dynamic_warming_clusters: 'ClustersConfigDump.DynamicCluster',
  static_endpoint_configs: 'EndpointsConfigDump.StaticEndpointConfig',
  dynamic_endpoint_configs: 'EndpointsConfigDump.DynamicEndpointConfig',
  static_listeners: 'ListenersConfigDump.StaticListener',
  dynamic_listeners: 'ListenersConfigDump.DynamicListener',
  static_route_configs: 'RoutesConfigDump.StaticRouteConfig',
  dynamic_route_configs: 'RoutesConfigDump.DynamicRouteConfig',
  static_secrets: 'SecretsConfigDump.StaticSecret',
  dynamic_active_secrets: 'SecretsConfigDump.DynamicSecret',
  dynamic_warming_secrets: 'SecretsConfigDump.DynamicSecret',
};

export const configDump: AdminHandler = (ctx, req) => {
  const params = req.url.searchParams;
  const resource = params.get('resource');
  const mask = params.get('mask');
  let nameRegex: RegExp | undefined;
  try {
    const pattern = params.get('name_regex');
    if (pattern !== null && pattern !== '') nameRegex = new RegExp(pattern);
  } catch (err) {
    return text(`Error while parsing name_regex: ${(err as Error).message}\n`, 400);
  }
  const includeEds = params.has('include_eds');
  let configs = ctx.configDump(includeEds) as Json[];
  if (resource !== null) {
    const type = ELEMENT_TYPES[resource];
    if (type === undefined || !configs.some((c) => Array.isArray(c[resource]))) {
      return text(`${resource} not found in config dump${resource.includes('endpoint') && !includeEds ? ' (endpoint configs need include_eds)' : ''}\n`, 404);
    }
    configs = configs.flatMap((c) => (c[resource] as Json[] | undefined) ?? [])
      .filter((element) => nameRegex === undefined || nameRegex.test(resourceName(element)))
      .map((element) => ({ '@type': `type.googleapis.com/envoy.admin.v3.${type}`, ...element }));
  } else if (nameRegex !== undefined) {
    configs = configs.map((c) => filterSection(c, nameRegex));
  }
  if (mask !== null && mask !== '') {
    const paths = mask.split(',').map((p) => p.trim()).filter((p) => p !== '');
    configs = configs.map((c) => ({ '@type': c['@type'], ...applyMask(c, paths) }));
  }
  return json(redactSecrets({ configs }));
};

// The name of one element of a repeated field: its own, or its resource's (an Any inside it).
function resourceName(element: Json): string {
  if (typeof element.name === 'string') return element.name;
  for (const field of ['cluster', 'listener', 'route_config', 'endpoint_config', 'secret']) {
    const inner = element[field] as Json | undefined;
    if (inner !== undefined) return String(inner.name ?? inner.cluster_name ?? '');
  }
  const active = element.active_state as Json | undefined;
  return active !== undefined ? resourceName(active) : '';
}

function filterSection(section: Json, nameRegex: RegExp): Json {
  const kept: Json = {};
  for (const [field, value] of Object.entries(section)) {
    kept[field] = field in ELEMENT_TYPES && Array.isArray(value) ? (value as Json[]).filter((e) => nameRegex.test(resourceName(e))) : value;
  }
  return kept;
}

// A FieldMask: only the named paths (dotted; through a list, into each element).
function applyMask(value: unknown, paths: string[]): Json {
  const out: Json = {};
  for (const path of paths) copyPath(value, out, path.split('.'));
  return out;
}

function copyPath(from: unknown, to: Json, path: string[]): void {
  if (from === null || typeof from !== 'object' || Array.isArray(from)) return;
  const [head, ...rest] = path;
  const value = (from as Json)[head];
  if (value === undefined) return;
  if (rest.length === 0) {
    to[head] = value;
  } else if (Array.isArray(value)) {
    const previous = Array.isArray(to[head]) ? (to[head] as Json[]) : value.map(() => ({}));
    value.forEach((element, i) => copyPath(element, previous[i], rest));
    to[head] = previous;
  } else {
    const inner = (to[head] ??= {}) as Json;
    copyPath(value, inner, rest);
  }
}

const REDACTED = '[redacted]';
// Envoy's sensitive fields (udpa.annotations.sensitive) that a dump may hold.
const SENSITIVE = new Set(['private_key', 'privateKey', 'password', 'session_ticket_keys', 'generic_secret', 'hmac_secret']);
const KEPT_SOURCES = new Set(['filename', 'environment_variable', 'watched_directory']);

// A copy without key material: a sensitive string, and in a sensitive message every value except
// where it is read from (a file name or an environment variable's name).
function redactSecrets<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => {
    if (!SENSITIVE.has(key)) return v;
    return redactValue(v);
  })) as T;
}

function redactValue(v: unknown): unknown {
  if (typeof v === 'string') return REDACTED;
  if (Array.isArray(v)) return v.map(redactValue);
  if (v === null || typeof v !== 'object') return v;
  const kept: Json = {};
  for (const [k, x] of Object.entries(v)) kept[k] = KEPT_SOURCES.has(k) ? x : x !== null && typeof x === 'object' ? redactValue(x) : REDACTED;
  return kept;
}
