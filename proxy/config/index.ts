// config/: Envoy v3 configuration (bootstrap files and xDS resources) -> Legate's model.
// Every bad input ends in a ConfigError whose message is one line: where, what, how to fix.
import { readConfigFile } from './bootstrap.ts';
import { mergeFrom } from './merge-from.ts';
import { ConfigError, indexPath, joinPath } from './errors.ts';
import type {
  Admin,
  Cluster,
  ClusterLoadAssignment,
  DynamicResources,
  EmbeddedRateLimitService,
  InternalListenerSettings,
  Listener,
  Node,
  RouteConfig,
  SdsSecretRef,
  TlsContext,
  TlsSecret,
  OverloadManagerConfig,
  RuntimeLayerConfig,
  TracingProvider,
} from './model.ts';
import { checkMessage, checkResource } from './schema.ts';
import type { Normalized } from './schema.ts';
import { translateOverloadManager } from './translate/overload.ts';
import { translateLayeredRuntime } from './translate/runtime.ts';
import { checkBootstrapExtensions, embeddedRateLimitService, translateAdmin, translateDynamicResources, translateNode } from './translate/bootstrap.ts';
import { translateClusterResource } from './translate/cluster.ts';
import { list, obj, reject, str } from './translate/common.ts';
import type { Raw, TranslateContext } from './translate/common.ts';
import { translateLoadAssignment } from './translate/endpoint.ts';
import { translateListenerResource } from './translate/listener.ts';
import { translateRouteConfig } from './translate/route.ts';
import { translateStatsConfig, type StatsConfig } from './translate/stats-config.ts';
import { translateStatsSinks } from './translate/stats-sinks.ts';
import type { StatsSinksConfig } from '../stats/sinks/index.ts';
import { translateTracingProvider } from './translate/tracing.ts';
import { tlsCertificate, validationContext } from './translate/transport-socket.ts';
import { validateSnapshot } from './validate.ts';

export { ConfigError } from './errors.ts';
export { readConfigFile, parseConfigText } from './bootstrap.ts';
export type { ConfigFile } from './bootstrap.ts';
export { checkMessage, checkResource, preloadSchema } from './schema.ts';
export { compileRe2 } from './regex.ts';
export { validateSnapshot } from './validate.ts';
export { translateWorkload } from './translate/workload.ts';
export type { SnapshotParts, ValidateOptions } from './validate.ts';
export type { StatsConfig } from './translate/stats-config.ts';

// The Envoy message types of the four xDS resource kinds.
export const RESOURCE_TYPES = {
  listener: 'envoy.config.listener.v3.Listener',
  routeConfiguration: 'envoy.config.route.v3.RouteConfiguration',
  cluster: 'envoy.config.cluster.v3.Cluster',
  clusterLoadAssignment: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

export interface BootstrapConfig {
  file: string;
  node: Node;
  admin: Admin;
  listeners: Listener[]; // static_resources
  clusters: Cluster[];
  routeConfigs: Record<string, RouteConfig>; // inline route configs of the static listeners
  dynamicResources: DynamicResources;
  rateLimitService?: EmbeddedRateLimitService;
  overloadManager?: OverloadManagerConfig;
  runtimeLayers: RuntimeLayerConfig[]; // layered_runtime, in order
  tracing?: TracingProvider; // tracing.http: the tracer of connection managers that name none
  warnings: string[]; // ignored fields, deprecated fields, skipped optional filters
  // static_resources.secrets (raw, primary-only): xDS listeners and clusters may name them too.
  staticSecrets: StaticSecrets;
  raw: Raw; // the bootstrap as written, for /config_dump
  statsConfig?: StatsConfig;
  statsSinks?: StatsSinksConfig; // stats_sinks with stats_flush_interval / stats_flush_on_admin
  internalListener?: InternalListenerSettings; // bootstrap_extensions: envoy.bootstrap.internal_listener
  workloadDiscovery?: boolean; // bootstrap_extensions: Istio's metadata_discovery (workloads over ADS)
}

export type StaticSecrets = ReadonlyMap<string, { raw: Raw; path: string }>;

/** How a bootstrap file is read: Envoy's --config-yaml and --allow-unknown-static-fields. */
export interface BootstrapOptions {
  overlays?: Raw[]; // merged over the file in order, as protobuf's MergeFrom: objects merged, lists appended, values replaced
  allowUnknownFields?: boolean;
}

export function loadBootstrap(file: string, options: BootstrapOptions = {}): BootstrapConfig {
  const config = readConfigFile(file);
  try {
    const raw = (options.overlays ?? []).reduce<unknown>((merged, overlay) => mergeFrom(merged, overlay), config.raw);
    return translateBootstrap(raw, file, options.allowUnknownFields);
  } catch (err) {
    const error = asConfigError(err, '');
    throw error.at(file, config.locate(error.path));
  }
}

// The same as loadBootstrap for an already-parsed object (no file positions in errors).
export function translateBootstrap(raw: unknown, file = '', allowUnknownFields = false): BootstrapConfig {
  const warnings: string[] = [];
  const bootstrap = checkMessage(raw, 'envoy.config.bootstrap.v3.Bootstrap', '', warnings, allowUnknownFields);
  const node = translateNode(obj(bootstrap, 'node'));
  const { internalListener, workloadDiscovery } = checkBootstrapExtensions(list(bootstrap, 'bootstrap_extensions'), 'bootstrap_extensions');
  const dynamicResources = translateDynamicResources(obj(bootstrap, 'dynamic_resources'), 'dynamic_resources');
  const staticResources = obj(bootstrap, 'static_resources') ?? {};
  const secrets = staticSecrets(staticResources);
  const ctx: TranslateContext = { warnings, secrets };
  const listeners: Listener[] = [];
  const routeConfigs: Record<string, RouteConfig> = {};
  list(staticResources, 'listeners').forEach((l, i) => {
    const { listener, routeConfigs: inline } = translateListenerResource(l, indexPath('static_resources.listeners', i), ctx);
    if (listener.internal === true && internalListener === undefined) throw internalListenerWithoutExtension(listener.name, indexPath('static_resources.listeners', i));
    listeners.push(listener);
    for (const rc of inline) routeConfigs[rc.name] = rc;
  });
  const clusters = list(staticResources, 'clusters').map((c, i) => translateClusterResource(c, indexPath('static_resources.clusters', i), ctx));
  const rateLimitService = embeddedRateLimitService(node, 'node');
  validateSnapshot(
    { listeners, clusters, routeConfigs },
    { checkClusterRefs: dynamicResources.cds === undefined, embeddedRateLimitService: rateLimitService !== undefined },
  );
  checkBootstrapRefs(listeners, clusters, dynamicResources);
  const result: BootstrapConfig = {
    file,
    node,
    admin: translateAdmin(obj(bootstrap, 'admin'), 'admin'),
    listeners,
    clusters,
    routeConfigs,
    dynamicResources,
    runtimeLayers: translateLayeredRuntime(obj(bootstrap, 'layered_runtime'), 'layered_runtime'),
    warnings,
    staticSecrets: secrets,
    raw: raw as Raw, // as written: the checked form holds durations as numbers
  };
  if (rateLimitService !== undefined) result.rateLimitService = rateLimitService;
  if (internalListener !== undefined) result.internalListener = internalListener;
  if (workloadDiscovery === true) {
    if (dynamicResources.ads === undefined) reject('bootstrap_extensions', 'istio.workload.BootstrapExtension takes workloads over ADS, but there is no ads_config', 'add dynamic_resources.ads_config');
    result.workloadDiscovery = true;
  }
  const overloadManager = translateOverloadManager(obj(bootstrap, 'overload_manager'), 'overload_manager');
  if (overloadManager !== undefined) result.overloadManager = overloadManager;
  const tracingHttp = obj(obj(bootstrap, 'tracing') ?? {}, 'http');
  if (tracingHttp !== undefined) result.tracing = translateTracingProvider(tracingHttp, 'tracing.http');
  const statsConfig = translateStatsConfig(obj(bootstrap, 'stats_config'), 'stats_config');
  if (statsConfig !== undefined) result.statsConfig = statsConfig;
  const statsSinks = translateStatsSinks(bootstrap);
  if (statsSinks !== undefined) result.statsSinks = statsSinks;
  return result;
}

// static_resources.secrets by name. Each is read (files, PEM checks) where a chain or cluster
// names it, so an unused secret costs nothing and a bad one is an error at its first use.
function staticSecrets(staticResources: Raw): Map<string, { raw: Raw; path: string }> {
  const secrets = new Map<string, { raw: Raw; path: string }>();
  list(staticResources, 'secrets').forEach((raw, i) => {
    const path = indexPath('static_resources.secrets', i);
    const name = str(raw, 'name');
    if (name === '') reject(`${path}.name`, 'required field is missing', 'give the secret the name its SdsSecretConfig references use');
    if (secrets.has(name)) reject(`${path}.name`, `duplicate secret name '${name}'`, 'secret names must be unique');
    if (raw.tls_certificate === undefined && raw.validation_context === undefined) {
      reject(path, `secret '${name}' has neither tls_certificate nor validation_context`, 'give it one of them');
    }
    secrets.set(name, { raw, path });
  });
  return secrets;
}

// The management server must be a static cluster; RDS and EDS over ADS need an ADS stream.
function checkBootstrapRefs(listeners: Listener[], clusters: Cluster[], dynamic: DynamicResources): void {
  const adsCluster = dynamic.ads?.grpcService.clusterName;
  if (adsCluster !== undefined && !clusters.some((c) => c.name === adsCluster)) {
    reject('dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name', `unknown cluster '${adsCluster}'`, 'define the management server as a static cluster (STRICT_DNS or STATIC, with http2_protocol_options)');
  }
  const secretRefs = (tls: TlsContext | undefined): SdsSecretRef[] => (tls?.sds === undefined ? [] : [...tls.sds.certificates, ...(tls.sds.validation ? [tls.sds.validation] : [])]);
  const chainsOf = (listener: Listener) => [...listener.filterChains, ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : [])];
  // An SDS server named by cluster must be one of the bootstrap's static clusters (as the ADS server).
  const sdsClusterOk = (refs: SdsSecretRef[], at: string, owner: string) => {
    for (const ref of refs) {
      const name = ref.server?.grpcService.clusterName;
      if (name !== undefined && !clusters.some((c) => c.name === name)) {
        reject(at, `${owner} gets secret '${ref.name}' from the SDS server of cluster '${name}', which is not a static cluster`, `define '${name}' in static_resources.clusters (Istio's bootstrap names it sds-grpc)`);
      }
    }
  };
  listeners.forEach((listener, i) => chainsOf(listener).forEach((c) => sdsClusterOk(secretRefs(c.tls), indexPath('static_resources.listeners', i), `listener '${listener.name}'`)));
  const clusterRefs = (cluster: Cluster) => [cluster.tls, ...(cluster.transportSocketMatches ?? []).map((m) => m.tls)].flatMap(secretRefs);
  clusters.forEach((cluster, i) => sdsClusterOk(clusterRefs(cluster), indexPath('static_resources.clusters', i), `cluster '${cluster.name}'`));
  if (dynamic.ads !== undefined) return;
  const adsSecret = (tls: TlsContext | undefined) => secretRefs(tls).some((r) => r.path === undefined && r.server === undefined);
  listeners.forEach((listener, i) => {
    if (chainsOf(listener).some((c) => adsSecret(c.tls))) {
      reject(indexPath('static_resources.listeners', i), `listener '${listener.name}' gets a secret over ADS but there is no ads_config`, 'add dynamic_resources.ads_config, or use sds_config.path_config_source');
    }
  });
  clusters.forEach((cluster, i) => {
    if (clusterRefs(cluster).some((r) => r.path === undefined && r.server === undefined)) reject(indexPath('static_resources.clusters', i), `cluster '${cluster.name}' gets a secret over ADS but there is no ads_config`, 'add dynamic_resources.ads_config, or use sds_config.path_config_source');
  });
  listeners.forEach((listener, i) => {
    for (const chain of chainsOf(listener)) {
      if (chain.network.kind === 'http_connection_manager' && chain.network.rdsConfigSource?.kind === 'ads') {
        reject(indexPath('static_resources.listeners', i), `listener '${listener.name}' gets routes over ADS but there is no ads_config`, 'add dynamic_resources.ads_config, or use route_config / path_config_source');
      }
    }
  });
  clusters.forEach((cluster, i) => {
    if (cluster.edsConfigSource?.kind === 'ads') {
      reject(indexPath('static_resources.clusters', i) + '.eds_cluster_config.eds_config', `cluster '${cluster.name}' gets endpoints over ADS but there is no ads_config`, 'add dynamic_resources.ads_config, or use load_assignment with type STATIC/STRICT_DNS');
    }
  });
}

/** Envoy refuses an internal listener unless the bootstrap has envoy.bootstrap.internal_listener. */
export function internalListenerWithoutExtension(name: string, path: string): ConfigError {
  return new ConfigError(joinPath(path, 'internal_listener'), `listener '${name}' is internal, but the envoy.bootstrap.internal_listener bootstrap extension is not configured`, 'add it to bootstrap_extensions (Envoy requires it too)');
}

// ---- xDS resources ----
// Each takes a resource as JSON (proto3 JSON mapping, with or without "@type") or as the object
// @grpc/proto-loader decodes, and returns the model object or throws a ConfigError (a NACK).

export interface TranslatedListener {
  listener: Listener;
  routeConfigs: RouteConfig[]; // inline route configs its HCMs point to
  warnings: string[];
}

// `secrets`: the bootstrap's static secrets, which an xDS listener or cluster may name.
export function translateListener(raw: unknown, path = '', secrets?: StaticSecrets): TranslatedListener {
  return guarded(path, RESOURCE_TYPES.listener, (resource, ctx) => {
    const { listener, routeConfigs } = translateListenerResource(resource, path, ctx);
    return { listener, routeConfigs, warnings: ctx.warnings };
  }, raw, secrets);
}

export function translateRouteConfiguration(raw: unknown, path = ''): { routeConfig: RouteConfig; warnings: string[] } {
  return guarded(path, RESOURCE_TYPES.routeConfiguration, (resource, ctx) => {
    if (str(resource, 'name') === '') reject(path === '' ? 'name' : `${path}.name`, 'required field is missing', 'RDS route configurations need a name');
    return { routeConfig: translateRouteConfig(resource, path, ctx), warnings: ctx.warnings };
  }, raw);
}

export function translateCluster(raw: unknown, path = '', secrets?: StaticSecrets): { cluster: Cluster; warnings: string[] } {
  return guarded(path, RESOURCE_TYPES.cluster, (resource, ctx) => ({ cluster: translateClusterResource(resource, path, ctx), warnings: ctx.warnings }), raw, secrets);
}

export const SECRET_TYPE = 'envoy.extensions.transport_sockets.tls.v3.Secret';

/** An SDS Secret resource: its certificate or validation context, read and checked (files, PEM, key). */
export function translateSecret(raw: unknown, path = ''): { secret: TlsSecret; warnings: string[] } {
  return guarded(path, SECRET_TYPE, (resource, ctx) => {
    const name = str(resource, 'name');
    if (name === '') reject(path === '' ? 'name' : `${path}.name`, 'required field is missing', 'SDS secrets need a name');
    const secret: TlsSecret = { name };
    const certificate = obj(resource, 'tls_certificate');
    const validation = obj(resource, 'validation_context');
    if (certificate !== undefined) secret.tlsCertificate = tlsCertificate(certificate, path === '' ? 'tls_certificate' : `${path}.tls_certificate`);
    if (validation !== undefined) secret.validation = validationContext(validation, path === '' ? 'validation_context' : `${path}.validation_context`);
    if (certificate === undefined && validation === undefined) reject(path, `secret '${name}' has neither tls_certificate nor validation_context`, 'give it one of them');
    return { secret, warnings: ctx.warnings };
  }, raw);
}

export function translateClusterLoadAssignment(raw: unknown, path = ''): { loadAssignment: ClusterLoadAssignment; warnings: string[] } {
  return guarded(path, RESOURCE_TYPES.clusterLoadAssignment, (resource, ctx) => ({
    loadAssignment: translateLoadAssignment(resource, path),
    warnings: ctx.warnings,
  }), raw);
}

function guarded<T>(path: string, type: string, translate: (resource: Raw, ctx: TranslateContext) => T, raw: unknown, secrets?: StaticSecrets): T {
  const ctx: TranslateContext = secrets === undefined ? { warnings: [] } : { warnings: [], secrets };
  try {
    const resource: Normalized = checkResource(raw, type, path, ctx.warnings);
    return translate(resource, ctx);
  } catch (err) {
    throw asConfigError(err, path);
  }
}

// Translators work on validated input, but a slip there must still surface as a ConfigError.
function asConfigError(err: unknown, path: string): ConfigError {
  if (err instanceof ConfigError) return err;
  return new ConfigError(path, `internal error while translating: ${(err as Error)?.message ?? String(err)}`, 'please report this with the config');
}
