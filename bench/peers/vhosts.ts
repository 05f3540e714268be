// The route-lookup scenario's configs: the same virtual hosts x routes for each peer, generated
// because nobody should read 10 000 routes by hand.
import { ROUTES_PER_HOST, VIRTUAL_HOSTS, routePrefix, virtualHostName } from '../scenarios.ts';

function* hostsAndRoutes(): Generator<{ host: string; prefixes: string[] }> {
  for (let h = 0; h < VIRTUAL_HOSTS; h++) {
    const prefixes = Array.from({ length: ROUTES_PER_HOST }, (_, r) => routePrefix(r));
    yield { host: virtualHostName(h), prefixes };
  }
}

/** Envoy virtual_hosts entries, indented to sit under route_config.virtual_hosts in legate/vhosts.yaml. */
export function legateVirtualHosts(cluster: string): string {
  const pad = ' '.repeat(12);
  const lines: string[] = [];
  for (const { host, prefixes } of hostsAndRoutes()) {
    lines.push(`${pad}- name: ${host}`, `${pad}  domains: ["${host}"]`, `${pad}  routes:`);
    for (const prefix of prefixes) {
      lines.push(`${pad}  - match: { prefix: "${prefix}" }`, `${pad}    route: { cluster: ${cluster} }`);
    }
  }
  return lines.join('\n');
}

/** nginx server blocks, one per host, with a location per route. */
export function nginxServerBlocks(listenPort: number, upstreamName: string): string {
  const blocks: string[] = [];
  for (const { host, prefixes } of hostsAndRoutes()) {
    const locations = prefixes.map((prefix) => `    location ${prefix} { proxy_pass http://${upstreamName}; }`);
    blocks.push(`  server {\n    listen 127.0.0.1:${listenPort};\n    server_name ${host};\n${locations.join('\n')}\n  }`);
  }
  return blocks.join('\n');
}

/** HAProxy map file lines: host + path prefix (what the `base` fetch yields) -> backend. */
export function haproxyRouteMap(backend: string): string {
  const lines: string[] = [];
  for (const { host, prefixes } of hostsAndRoutes()) {
    for (const prefix of prefixes) lines.push(`${host}${prefix} ${backend}`);
  }
  return lines.join('\n') + '\n';
}

export const VHOST_COUNTS = { virtual_host_count: VIRTUAL_HOSTS, routes_per_host: ROUTES_PER_HOST };
