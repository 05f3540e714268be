// GET /ready: 200 LIVE once the first config is served and no /healthcheck/fail is in force.
import { text, type AdminHandler } from '../context.ts';

export const ready: AdminHandler = (ctx) => {
  if (ctx.ready()) return text('LIVE\n');
  const state = ctx.healthCheckFailed && ctx.state === 'LIVE' ? 'DRAINING' : ctx.state === 'INITIALIZING' ? 'PRE_INITIALIZING' : ctx.state;
  return text(`${state}\n`, 503);
};
