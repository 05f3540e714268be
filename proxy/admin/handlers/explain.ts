// GET /explain?url=...&method=...&header=name:value&listener=...&source=...: what the proxy would
// do with that request now, from the running snapshot and the workers' host health (JSON).
import { explain, ExplainError, parseHeaders } from '../../explain/index.ts';
import { json, type AdminHandler } from '../context.ts';

export const explainHandler: AdminHandler = async (ctx, req) => {
  const q = req.url.searchParams;
  const url = q.get('url');
  if (url === null) return json({ error: 'explain needs ?url=' }, 400);
  try {
    const input = { url, method: q.get('method') ?? 'GET', headers: parseHeaders(q.getAll('header')), listener: q.get('listener') ?? undefined, source: q.get('source') ?? undefined };
    const boundPorts = new Map((ctx.applied?.listeners ?? []).map((l) => [l.name, l.port]));
    return json(explain(ctx.snapshot, input, { boundPorts, liveClusters: await ctx.clusters(), meshRetries: ctx.options.mode === 'sidecar' }));
  } catch (err) {
    if (err instanceof ExplainError) return json({ error: err.message }, 400);
    throw err;
  }
};
