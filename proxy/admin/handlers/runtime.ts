// GET /runtime (layers and entries, Envoy's JSON) and POST /runtime_modify?key=value (the admin
// layer; an empty value removes the key; applied in every worker before the answer).
import { json, text, type AdminHandler } from '../context.ts';

export const runtimeGet: AdminHandler = (ctx) => json(ctx.runtime?.() ?? { layers: [], entries: {} });

export const runtimeModify: AdminHandler = async (ctx, req) => {
  const changes = Object.fromEntries(req.url.searchParams);
  if (Object.keys(changes).length === 0) return text('usage: /runtime_modify?key1=value1&key2=value2&keyN=valueN\n', 400);
  const done = (await ctx.modifyRuntime?.(changes)) ?? false;
  return done ? text('OK\n') : text('No admin layer specified\n', 503);
};
