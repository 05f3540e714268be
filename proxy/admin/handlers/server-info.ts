// GET /server_info: Envoy's shape (version, state, uptime, node, command line) plus what Legate
// adds: the snapshot version the workers applied and their memory.
import { json, type AdminHandler } from '../context.ts';
import { LEGATE_VERSION } from '../version.ts';

export const serverInfo: AdminHandler = async (ctx) => {
  const uptime = Math.floor((Date.now() - ctx.startTime) / 1000);
  return json({
    version: `legate/${LEGATE_VERSION}`,
    // Envoy's serverState: a live server failing health checks reports DRAINING.
    state: ctx.state === 'LIVE' ? (ctx.healthCheckFailed ? 'DRAINING' : 'LIVE') : ctx.state === 'DRAINING' ? 'DRAINING' : 'INITIALIZING',
    hot_restart_version: 'disabled',
    command_line_options: {
      config_path: ctx.options.configPath,
      concurrency: ctx.options.workers,
      mode: ctx.options.mode,
      drain_time: `${ctx.options.drainTimeMs / 1000}s`,
    },
    node: ctx.node,
    uptime_current_epoch: `${uptime}s`,
    uptime_all_epochs: `${uptime}s`,
    snapshot_version: ctx.snapshot.version,
    applied_snapshot_version: ctx.applied?.version ?? 0,
    memory: ctx.memory ? await ctx.memory() : { primary_rss_bytes: process.memoryUsage().rss },
  });
};
