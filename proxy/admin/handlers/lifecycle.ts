// POST /quitquitquit, /drain_listeners, /reopen_logs.
import { text, type AdminHandler } from '../context.ts';

export const quitQuitQuit: AdminHandler = (ctx) => {
  setImmediate(() => void ctx.shutdown().then(() => process.exit(0)));
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
