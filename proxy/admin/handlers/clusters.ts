// GET /clusters: Envoy's text lines (cluster::host::stat::value) or ?format=json.
import { json, text, type AdminHandler } from '../context.ts';

export const clusters: AdminHandler = async (ctx, req) => {
  const list = await ctx.clusters();
  if (req.url.searchParams.get('format') === 'json') {
    return json({
      cluster_statuses: list.map((c) => ({
        name: c.name,
        host_statuses: c.hosts.map((h) => ({
          address: { socket_address: splitAddress(h.address) },
          hostname: h.hostname,
          weight: h.weight,
          priority: h.priority,
          locality: localityOf(h.locality),
          health_status: { health_flags: h.healthFlags, eds_health_status: h.healthFlags === 'healthy' ? 'HEALTHY' : 'UNHEALTHY' },
          stats: Object.entries(h.stats).map(([name, value]) => ({ name: snake(name), value })),
        })),
      })),
    });
  }
  const lines: string[] = [];
  for (const c of list) {
    for (const b of c.circuitBreakers) {
      const p = `${c.name}::${b.priority.toLowerCase()}_priority::`;
      lines.push(`${p}max_connections::${b.maxConnections}`, `${p}max_pending_requests::${b.maxPendingRequests}`, `${p}max_requests::${b.maxRequests}`, `${p}max_retries::${b.maxRetries}`);
    }
    for (const h of c.hosts) {
      const p = `${c.name}::${h.address}::`;
      for (const [name, value] of Object.entries(h.stats)) lines.push(`${p}${snake(name)}::${value}`);
      const { region, zone, sub_zone } = localityOf(h.locality);
      lines.push(`${p}hostname::${h.hostname}`, `${p}health_flags::${h.healthFlags}`, `${p}weight::${h.weight}`, `${p}region::${region}`, `${p}zone::${zone}`, `${p}sub_zone::${sub_zone}`, `${p}priority::${h.priority}`);
    }
  }
  return text(lines.join('\n') + '\n');
};

/** hostStats field names (cxTotal) to Envoy's (cx_total). */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function splitAddress(address: string): { address: string; port_value: number } {
  const colon = address.lastIndexOf(':');
  return { address: address.slice(0, colon).replace(/^\[|\]$/g, ''), port_value: Number(address.slice(colon + 1)) };
}

/** The host's 'region/zone/sub_zone' key as Envoy's Locality message. */
function localityOf(key: string): { region: string; zone: string; sub_zone: string } {
  const [region = '', zone = '', subZone = ''] = key.split('/');
  return { region, zone, sub_zone: subZone };
}
