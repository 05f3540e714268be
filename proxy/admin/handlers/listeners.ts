// GET /listeners: each listener's name and the address it is bound to (?format=json as Envoy); an
// internal listener's is its envoy:// address.
import { json, text, type AdminHandler } from '../context.ts';

export const listeners: AdminHandler = (ctx, req) => {
  const bound = ctx.applied?.listeners ?? [];
  if (req.url.searchParams.get('format') === 'json') {
    return json({ listener_statuses: bound.map((l) => ({
      name: l.name,
      local_address: l.internal === true ? { envoy_internal_address: { server_listener_name: l.name } } : { socket_address: { address: l.address, port_value: l.port } },
    })) });
  }
  const address = (l: (typeof bound)[number]) => (l.internal === true ? l.address : `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`);
  return text(bound.map((l) => `${l.name}::${address(l)}`).join('\n') + '\n');
};
