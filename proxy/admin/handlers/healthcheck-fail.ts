// POST /healthcheck/fail: the server fails health checks (Envoy's failHealthcheck(true)): /ready
// answers 503 DRAINING, server.live is 0, every worker's health check filters answer 503 and every
// response carries x-envoy-immediate-health-check-fail and closes its connection. In force in
// every worker before the answer; /healthcheck/ok undoes it.
import { text, type AdminHandler } from '../context.ts';

export const healthCheckFail: AdminHandler = async (ctx) => {
  await ctx.failHealthcheck(true);
  return text('OK\n');
};
