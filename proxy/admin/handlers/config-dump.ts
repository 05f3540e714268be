// GET /config_dump: the effective config as Legate runs it (its model, with Envoy's defaults
// applied), per resource with its version, plus what config sources add (xDS state).
import { json, type AdminHandler } from '../context.ts';

export const configDump: AdminHandler = (ctx) => {
  const s = ctx.snapshot;
  return json({
    configs: [
      { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: { node: ctx.node }, snapshot_version: s.version },
      { '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', version_info: s.versions.lds, listeners: s.listeners },
      { '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', version_info: s.versions.cds, clusters: s.clusters },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
        route_configs: Object.values(s.routeConfigs).map((rc) => ({ version_info: s.versions.rds[rc.name] ?? s.versions.lds, route_config: rc })),
      },
    ],
    ...(ctx.configDumpExtras ? ctx.configDumpExtras() : {}),
  });
};
