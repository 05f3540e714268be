// GET /listeners: each listener's name and the address it is bound to (?format=json as Envoy).
import { json, text, type AdminHandler } from '../context.ts';

export const listeners: AdminHandler = (ctx, req) => {
  const bound = ctx.applied?.listeners ?? [];
  if (req.url.searchParams.get('format') === 'json') {
    return json({ listener_statuses: bound.map((l) => ({ name: l.name, local_address: { socket_address: { address: l.address, port_value: l.port } } })) });
  }
  return text(bound.map((l) => `${l.name}::${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`).join('\n') + '\n');
};
