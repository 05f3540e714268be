// What the matched route does with the request: answer it (direct response, redirect) or forward
// it (clusters and their shares, rewrites, header mutations, timeouts, the retry policy in force).
import type { ClusterSpecifier, HashPolicy, HeaderMutations, RouteConfig, VirtualHost } from '../config/model.ts';
import { meshRetryPolicy, type CompiledRoute, type RouteRequest } from '../router/index.ts';
import type { ActionExplanation, ClusterShare, HeaderChange } from './types.ts';

export function explainAction(route: CompiledRoute, virtualHost: VirtualHost, config: RouteConfig, req: RouteRequest, meshRetries: boolean): ActionExplanation {
  const { action } = route.model;
  if (action.kind === 'direct_response') return { kind: 'direct_response', status: action.status, bodyBytes: Buffer.byteLength(action.body ?? '') };
  if (action.kind === 'redirect') return { kind: 'redirect', status: action.responseCode, location: route.redirectLocation(req) };
  const rewritten = route.rewritePath(req.path);
  const weighted: Level[] = action.cluster.kind === 'weighted_clusters' ? action.cluster.clusters.map((c) => ({ level: 'weighted cluster', cluster: c.name, mutations: c.mutations })) : [];
  const levels: Level[] = [
    ...weighted,
    { level: 'route', mutations: route.model.mutations },
    { level: 'virtual host', mutations: virtualHost.mutations },
    { level: 'route config', mutations: config.mutations },
  ];
  const retry = action.retryPolicy ?? (meshRetries ? meshRetryPolicy() : undefined);
  const rateLimits = (action.rateLimits?.length ?? 0) + (action.includeVhRateLimits === true ? (virtualHost.rateLimits?.length ?? 0) : 0);
  return {
    kind: 'route',
    clusters: clusterShares(action.cluster, req),
    ...(action.cluster.kind === 'cluster_header' ? { clusterHeader: action.cluster.header } : {}),
    ...(rewritten !== req.path ? { pathRewrite: { from: req.path, to: rewritten } } : {}),
    ...hostRewrite(action.hostRewriteLiteral, action.hostRewriteHeader, action.autoHostRewrite, req),
    requestHeaders: changes(levels, 'request'),
    responseHeaders: changes(levels, 'response'),
    timeoutMs: action.usingNewTimeouts ? 0 : action.timeoutMs,
    idleTimeoutMs: action.idleTimeoutMs,
    ...(action.maxStreamDurationMs !== undefined ? { maxStreamDurationMs: action.maxStreamDurationMs } : {}),
    ...(retry === undefined
      ? {}
      : { retry: { source: action.retryPolicy !== undefined ? 'route' : 'mesh default', retryOn: retry.retryOn, numRetries: retry.numRetries, perTryTimeoutMs: retry.perTryTimeoutMs, retriableStatusCodes: retry.retriableStatusCodes } }),
    hashPolicy: action.hashPolicy.map(describeHashPolicy),
    rateLimits,
    mirrors: action.requestMirrorPolicies.map((m) => `${m.cluster}${m.runtimeFractionPercent < 100 ? ` (${m.runtimeFractionPercent} %)` : ''}`),
  };
}

/** Each cluster with its share of requests; a cluster_header route's cluster comes from the request. */
export function clusterShares(spec: ClusterSpecifier, req?: RouteRequest): ClusterShare[] {
  switch (spec.kind) {
    case 'cluster':
      return [{ name: spec.name, sharePercent: 100 }];
    case 'cluster_header': {
      const raw = req?.headers[spec.header];
      const name = (Array.isArray(raw) ? raw[0] : raw) ?? '';
      return name === '' ? [] : [{ name, sharePercent: 100 }];
    }
    case 'weighted_clusters': {
      const total = spec.clusters.reduce((sum, c) => sum + c.weight, 0);
      return spec.clusters.map((c) => ({ name: c.name, weight: c.weight, sharePercent: total === 0 ? 0 : Math.round((c.weight / total) * 10000) / 100 }));
    }
  }
}

function hostRewrite(literal: string | undefined, header: string | undefined, auto: boolean, req: RouteRequest): { hostRewrite?: string } {
  if (literal !== undefined) return { hostRewrite: literal };
  if (header !== undefined) {
    const value = req.headers[header];
    return { hostRewrite: value === undefined ? `from header '${header}' (absent: unchanged)` : String(value) };
  }
  return auto ? { hostRewrite: 'auto_host_rewrite: the picked host\'s hostname' } : {};
}

// Most specific first, as the router applies them.
interface Level {
  level: HeaderChange['level'];
  cluster?: string;
  mutations: HeaderMutations;
}

function changes(levels: Level[], direction: 'request' | 'response'): HeaderChange[] {
  const out: HeaderChange[] = [];
  for (const { level, cluster, mutations: m } of levels) {
    const add = direction === 'request' ? m.requestHeadersToAdd : m.responseHeadersToAdd;
    const remove = direction === 'request' ? m.requestHeadersToRemove : m.responseHeadersToRemove;
    if (add.length === 0 && remove.length === 0) continue;
    out.push({ level, ...(cluster === undefined ? {} : { cluster }), add: add.map((h) => ({ name: h.key, value: h.value, action: h.appendAction })), remove: [...remove] });
  }
  return out;
}

function describeHashPolicy(policy: HashPolicy): string {
  const terminal = policy.terminal ? ' (terminal)' : '';
  switch (policy.kind) {
    case 'header':
      return `header ${policy.headerName}${terminal}`;
    case 'cookie':
      return `cookie ${policy.name}${terminal}`;
    case 'source_ip':
      return `source_ip${terminal}`;
    case 'query_parameter':
      return `query_parameter ${policy.name}${terminal}`;
  }
}
