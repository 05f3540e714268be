// POST /quitquitquit, /healthcheck/fail, /healthcheck/ok, /drain_listeners, /reopen_logs.
import { text, type AdminHandler } from '../context.ts';

export const quitQuitQuit: AdminHandler = (ctx) => {
  setImmediate(() => void ctx.shutdown().then(() => process.exit(0)));
  return text('OK\n');
};

export const healthCheckFail: AdminHandler = (ctx) => {
  ctx.healthCheckFailed = true;
  return text('OK\n');
};

export const healthCheckOk: AdminHandler = (ctx) => {
  ctx.healthCheckFailed = false;
  return text('OK\n');
};

export const drainListeners: AdminHandler = async (ctx) => {
  await ctx.drainListeners();
  return text('OK\n');
};

export const reopenLogs: AdminHandler = async (ctx) => {
  await ctx.reopenLogs();
  return text('OK\n');
};
