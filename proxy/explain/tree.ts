// The explanation as a short readable tree for a terminal.
import type { ActionExplanation, ClusterExplanation, Explanation, HeaderChange } from './types.ts';

export function formatTree(e: Explanation): string {
  const lines: string[] = [`${e.request.method} ${e.request.url}${e.request.routedPath === undefined ? '' : ` (routed as ${e.request.routedPath})`}`];
  const add = (depth: number, text: string) => lines.push(`${'  '.repeat(depth)}${text}`);
  add(0, `listener ${e.listener.name} (${e.listener.address}): ${e.listener.why}`);
  const c = e.connection;
  const protocols = c.applicationProtocols.length === 0 ? '' : `, ${c.applicationProtocols.join(',')}`;
  const tls = c.transportProtocol === 'tls' ? `, tls${c.serverName === '' ? '' : `, SNI ${c.serverName}`}, ALPN${protocols.slice(1)}` : `, ${c.transportProtocol}${protocols}`;
  add(1, `connection to ${c.destination} from ${c.source}${tls}`);
  if (e.filterChain !== null) {
    const chain = e.filterChain;
    add(1, `filter chain ${chain.index === -1 ? 'default_filter_chain' : `#${chain.index}`}${chain.name === '' ? '' : ` '${chain.name}'`}: ${chain.why.join('; ')}`);
    add(1, `transport socket ${chain.transportSocket}, network filter ${chain.networkFilter} (stat_prefix ${chain.statPrefix})`);
  }
  const vh = e.virtualHost;
  if (vh !== null) {
    add(0, `route config ${vh.routeConfig}`);
    add(1, `virtual host ${vh.name} (domains ${vh.domains.join(', ')})`);
    let matchedBefore = false;
    for (const r of vh.routes) {
      const name = r.name === '' ? '(unnamed)' : r.name;
      const matched = matchedBefore ? 'takes the rest' : 'matched';
      add(2, r.matched ? `route ${name}: ${matched}${r.note === undefined ? '' : ` (${r.note})`}` : `route ${name}: ${r.failed}`);
      matchedBefore ||= r.matched;
    }
  }
  if (e.httpFilters.length > 0) add(0, 'http filters');
  for (const f of e.httpFilters) add(1, `${f.name}${f.disabled ? ' (disabled here)' : f.detail === undefined ? '' : `: ${f.detail}`}`);
  if (e.action !== null) formatAction(e.action, add);
  for (const c of e.clusters) formatCluster(c, add);
  for (const note of e.notes) add(0, `=> ${note}`);
  return lines.join('\n') + '\n';
}

type Add = (depth: number, text: string) => void;

function formatAction(a: ActionExplanation, add: Add): void {
  switch (a.kind) {
    case 'direct_response':
      add(0, `direct response ${a.status} (${a.bodyBytes} byte body)`);
      return;
    case 'redirect':
      add(0, `redirect ${a.status} to ${a.location}`);
      return;
    case 'tcp_proxy':
      add(0, `tcp_proxy to ${shares(a.clusters)}${a.idleTimeoutMs > 0 ? `, idle timeout ${ms(a.idleTimeoutMs)}` : ''}`);
      if (a.tunnel !== undefined) add(1, `tunnelled in HTTP ${a.tunnel.method} to ${a.tunnel.hostname}`);
      return;
    case 'route': {
      add(0, `route to ${a.clusters.length === 0 ? `the cluster named by header ${a.clusterHeader} (absent)` : shares(a.clusters)}`);
      if (a.pathRewrite !== undefined) add(1, `path rewrite ${a.pathRewrite.from} -> ${a.pathRewrite.to}`);
      if (a.hostRewrite !== undefined) add(1, `host rewrite ${a.hostRewrite}`);
      for (const c of a.requestHeaders) add(1, `request headers (${level(c)}): ${mutation(c)}`);
      for (const c of a.responseHeaders) add(1, `response headers (${level(c)}): ${mutation(c)}`);
      const timeouts = [`timeout ${a.timeoutMs === 0 ? 'none' : ms(a.timeoutMs)}`];
      if (a.idleTimeoutMs > 0) timeouts.push(`idle ${ms(a.idleTimeoutMs)}`);
      if (a.maxStreamDurationMs !== undefined) timeouts.push(`max stream duration ${a.maxStreamDurationMs === 0 ? 'none' : ms(a.maxStreamDurationMs)}`);
      if (a.retry !== undefined) timeouts.push(`per-try ${a.retry.perTryTimeoutMs === 0 ? 'none' : ms(a.retry.perTryTimeoutMs)}`);
      add(1, timeouts.join(', '));
      add(1, a.retry === undefined ? 'retries none' : `retries ${a.retry.numRetries} on ${[...a.retry.retryOn, ...a.retry.retriableStatusCodes.map(String)].join(',')} (${a.retry.source})`);
      if (a.hashPolicy.length > 0) add(1, `hash policy ${a.hashPolicy.join(', ')}`);
      if (a.rateLimits > 0) add(1, `rate limit descriptors ${a.rateLimits}`);
      if (a.mirrors.length > 0) add(1, `mirrored to ${a.mirrors.join(', ')}`);
    }
  }
}

function formatCluster(c: ClusterExplanation, add: Add): void {
  if (c.missing === true) {
    add(0, `cluster ${c.name}: ${c.pickNote}`);
    return;
  }
  const limits = `max requests ${c.circuitBreakers.maxRequests}, connections ${c.circuitBreakers.maxConnections}, retries ${c.circuitBreakers.maxRetries}`;
  const breakers = c.active === undefined ? limits : `${c.active.requests} requests and ${c.active.connections} connections active; ${limits} per worker`;
  add(0, `cluster ${c.name} (${c.type}, ${c.lbPolicy}, hosts ${c.hostsFrom === 'live' ? 'live' : 'as configured'}; ${breakers})`);
  if (c.upstream !== undefined) add(1, `upstream ${c.upstream.protocol}, TLS ${c.upstream.tls}, connect timeout ${ms(c.upstream.connectTimeoutMs)}`);
  for (const h of c.hosts) {
    const active = h.active === undefined ? '' : `, ${h.active.requests} active requests, ${h.active.connections} connections`;
    add(1, `${h.address === c.pick ? '* ' : ''}${h.address} ${h.health} weight ${h.weight} priority ${h.priority}${h.locality === '//' ? '' : ` locality ${h.locality}`}${active}`);
  }
  const hash = c.hash === undefined ? '' : `hash ${c.hash} -> `;
  add(1, c.pick === undefined ? `next: ${c.pickNote}` : `next: ${hash}${c.pick} (${c.pickNote})`);
}

function shares(list: { name: string; weight?: number; sharePercent: number }[]): string {
  if (list.length === 1 && list[0].weight === undefined) return `cluster ${list[0].name}`;
  return list.map((c) => `${c.name} ${c.sharePercent} %${c.weight === undefined ? '' : ` (weight ${c.weight})`}`).join(', ');
}

function level(c: HeaderChange): string {
  return c.cluster === undefined ? c.level : `${c.level} ${c.cluster}`;
}

function mutation(c: HeaderChange): string {
  return [...c.add.map((h) => `+${h.name}: ${h.value}${h.action === 'APPEND_IF_EXISTS_OR_ADD' ? '' : ` [${h.action}]`}`), ...c.remove.map((name) => `-${name}`)].join(' ');
}

function ms(value: number): string {
  return value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`;
}
