// `legate validate` for a bootstrap that takes resources from files (path_config_source): the
// files its lds_config and cds_config name, and the RDS and EDS files that their listeners and
// clusters (and the static ones) name in turn, read as the running proxy reads them and
// translated as it translates them, so a file the proxy would reject at run time fails here.
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, parseDiscoveryFile, ROUTE_TYPE_URL } from '../../xds-client/index.ts';
import type { DecodedResource } from '../../xds-client/index.ts';
import { internalListenerWithoutExtension, translateCluster, translateClusterLoadAssignment, translateListener, translateRouteConfiguration } from '../config/index.ts';
import type { BootstrapConfig } from '../config/index.ts';
import { readRegularFile } from '../config/local-file.ts';
import type { Cluster, Listener } from '../config/model.ts';

export interface FilesCheck {
  problems: string[]; // one line per problem, each naming its file; empty when every file would load
  listeners: number; // from lds_config's file
  clusters: number; // from cds_config's file
}

export function checkConfigFiles(boot: BootstrapConfig): FilesCheck {
  const problems: string[] = [];
  // undefined: the file did not read or parse (its problem is said once).
  const read = (file: string, typeUrl: string): DecodedResource[] | undefined => {
    try {
      return parseDiscoveryFile(readRegularFile(file), typeUrl).resources;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${file}: ${code !== undefined ? `cannot read the file (${code})` : (err as Error).message}`);
      return undefined;
    }
  };
  const each = <T>(file: string, resources: DecodedResource[] | undefined, translate: (raw: unknown, path: string) => T): T[] => {
    const out: T[] = [];
    resources?.forEach((r, i) => {
      try {
        out.push(translate(r.resource, `resources[${i}]`));
      } catch (err) {
        problems.push(`${file}: ${(err as Error).message}`);
      }
    });
    return out;
  };

  const listeners: Listener[] = [...boot.listeners];
  const clusters: Cluster[] = [...boot.clusters];
  const { lds, cds } = boot.dynamicResources;
  if (lds?.kind === 'path') {
    listeners.push(...each(lds.path, read(lds.path, LISTENER_TYPE_URL), (raw, path) => {
      const { listener } = translateListener(raw, path, boot.staticSecrets);
      if (listener.internal === true && boot.internalListener === undefined) throw internalListenerWithoutExtension(listener.name, path);
      return listener;
    }));
  }
  if (cds?.kind === 'path') clusters.push(...each(cds.path, read(cds.path, CLUSTER_TYPE_URL), (raw, path) => translateCluster(raw, path, boot.staticSecrets).cluster));

  // RDS and EDS files: each read once, and every name wanted of it must be there.
  const wanted = (entries: [file: string, name: string, user: string][], typeUrl: string, translate: (raw: unknown, path: string) => unknown, what: string) => {
    const byFile = new Map<string, [string, string][]>();
    for (const [file, name, user] of entries) byFile.set(file, [...(byFile.get(file) ?? []), [name, user]]);
    for (const [file, names] of byFile) {
      const resources = read(file, typeUrl);
      if (resources === undefined) continue;
      each(file, resources, translate);
      const present = new Set(resources.map((r) => r.name));
      for (const [name, user] of names) {
        if (!present.has(name)) problems.push(`${file}: no ${what} '${name}' (${user} names it)`);
      }
    }
  };
  const routes: [string, string, string][] = [];
  for (const listener of listeners) {
    for (const chain of [...listener.filterChains, ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : [])]) {
      const hcm = chain.network;
      if (hcm.kind === 'http_connection_manager' && hcm.rdsConfigSource?.kind === 'path') routes.push([hcm.rdsConfigSource.path, hcm.routeConfigName, `listener '${listener.name}'`]);
    }
  }
  wanted(routes, ROUTE_TYPE_URL, (raw, path) => translateRouteConfiguration(raw, path), 'route configuration');
  const endpoints: [string, string, string][] = clusters.flatMap((c) => (c.edsConfigSource?.kind === 'path' ? [[c.edsConfigSource.path, c.edsServiceName ?? c.name, `cluster '${c.name}'`] as [string, string, string]] : []));
  wanted(endpoints, ENDPOINT_TYPE_URL, (raw, path) => translateClusterLoadAssignment(raw, path), 'endpoints (ClusterLoadAssignment)');
  return { problems, listeners: listeners.length - boot.listeners.length, clusters: clusters.length - boot.clusters.length };
}
