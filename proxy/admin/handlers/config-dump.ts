// GET /config_dump: the effective config as Legate runs it (its model, with Envoy's defaults
// applied), per resource with its version, plus what config sources add (xDS state). Private keys
// of TLS certificates are never shown (Envoy's dump redacts them too); where they came from is.
import { json, type AdminHandler } from '../context.ts';

export const configDump: AdminHandler = (ctx) => {
  const s = ctx.snapshot;
  return json(redactKeys({
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
  }));
};

const REDACTED = '[redacted]';

// A copy without key material: the model's privateKey (PEM) and, in raw xDS resources, a
// private_key DataSource's inline value (its filename or environment variable name stays).
function redactKeys<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => {
    if (key !== 'privateKey' && key !== 'private_key') return v;
    if (typeof v === 'string') return REDACTED;
    if (v === null || typeof v !== 'object') return v;
    const source = v as Record<string, unknown>;
    const kept: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(source)) kept[k] = k === 'filename' || k === 'environment_variable' ? x : REDACTED;
    return kept;
  })) as T;
}
