// GET /stats (text, ?format=json, ?filter=REGEX, ?usedonly) and GET /stats/prometheus.
import { renderPrometheus, renderStatsJson, renderStatsText } from '../../stats/index.ts';
import { json, text, type AdminHandler, type AdminResponse } from '../context.ts';

export const stats: AdminHandler = async (ctx, req) => {
  const filterText = req.url.searchParams.get('filter');
  let filter: RegExp | undefined;
  if (filterText !== null && filterText !== '') {
    try {
      filter = new RegExp(filterText);
    } catch {
      return text(`Invalid re2 regex: ${filterText}\n`, 400);
    }
  }
  const options = { filter, usedOnly: req.url.searchParams.has('usedonly'), settings: ctx.statsSettings };
  const merged = await ctx.stats();
  ctx.statsRead?.(merged);
  const format = req.url.searchParams.get('format');
  if (format === 'json') return json(JSON.parse(renderStatsJson(merged, options)));
  if (format === 'prometheus') return prometheusResponse(renderPrometheus(merged, options));
  return text(renderStatsText(merged, options));
};

export const statsPrometheus: AdminHandler = async (ctx, req) => {
  const usedOnly = req.url.searchParams.has('usedonly');
  const merged = await ctx.stats();
  ctx.statsRead?.(merged);
  return prometheusResponse(renderPrometheus(merged, { usedOnly, settings: ctx.statsSettings }));
};

function prometheusResponse(body: string): AdminResponse {
  return { status: 200, contentType: 'text/plain; version=0.0.4; charset=UTF-8', body };
}
