// POST /healthcheck/ok: undoes /healthcheck/fail in the primary and every worker before the answer.
import { text, type AdminHandler } from '../context.ts';

export const healthCheckOk: AdminHandler = async (ctx) => {
  await ctx.failHealthcheck(false);
  return text('OK\n');
};
