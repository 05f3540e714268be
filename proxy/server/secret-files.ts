// SDS from files (sds_config.path_config_source), over ADS (sds_config.ads) and from SDS servers
// (sds_config.api_config_source, Istio's sds-grpc). The primary watches each file named by a TLS
// context's SdsSecretRef with the same watcher as file-based LDS/CDS (xds-client's FileSource);
// ADS secrets come from the xDS client (dynamic-config.ts subscribes to the names `adsNames`
// gives and hands each Secret response to `adsUpdate`, whose result is the ACK or NACK); an SDS
// server gets an xDS client of its own on the SecretDiscoveryService, subscribed to exactly the
// names the contexts want of it. Either way the primary
// checks every Secret in it (files read, PEM parsed, key matched to its certificate) and fills the
// listeners' and clusters' TLS contexts before a snapshot goes to the workers. A file whose
// secrets do not check out is rejected as a whole and the last good secrets stay. A listener or
// cluster whose secret has not loaded yet is left out of the snapshot (it warms, as in Envoy)
// and enters with the first good load.
import { createFileSource, createXdsClient, SECRET_TYPE_URL } from '../../xds-client/index.ts';
import type { FileSource, JsonObject, NodeInfo, ResourceUpdate, UpdateResult, XdsClient } from '../../xds-client/index.ts';
import { translateSecret } from '../config/index.ts';
import { mergeValidation } from '../config/translate/transport-socket.ts';
import type { CertificateValidation, Cluster, FilterChain, Listener, SdsSecretRef, SdsServer, TlsContext, TlsSecret } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import type { SnapshotParts } from './dynamic-config.ts';
import type { DynamicEntry } from './config-dump.ts';

export interface SecretFilesOptions {
  store: Store;
  log(line: string): void;
  /** A watched file brought new secrets: the current resources are to be resolved again. */
  onChange(): void;
  /** How SDS servers are reached (absent: a reference to one is logged and warms). */
  servers?: {
    node: NodeInfo;
    /** The gRPC target of an SDS server; throws when the bootstrap gives it no address. */
    target(server: SdsServer): string;
  };
}

interface Loaded {
  secret: TlsSecret;
  version: string;
  lastUpdated: number;
  raw: JsonObject; // for /config_dump (redacted there)
}

export class SecretFiles {
  readonly #options: SecretFilesOptions;
  readonly #files = new Map<string, FileSource>(); // by path
  readonly #servers = new Map<string, XdsClient | null>(); // by source key; null: it has no address
  readonly #secrets = new Map<string, Map<string, Loaded>>(); // source key (sourceOf) -> name -> secret
  readonly #warming = new Set<string>(); // what was said to warm, said once
  // The last resolved version of each listener and cluster: while a new version waits for a
  // secret, the previous one keeps serving (Envoy warms the new one beside it).
  #served = { listeners: new Map<string, Listener>(), clusters: new Map<string, Cluster>() };
  #stopped = false;

  constructor(options: SecretFilesOptions) {
    this.#options = options;
  }

  /** Starts watching the SDS files `parts` name; resolves once each new file had its first load. */
  async watch(parts: Pick<SnapshotParts, 'listeners' | 'clusters'>): Promise<void> {
    const starts: Promise<UpdateResult>[] = [];
    for (const ref of sdsRefs(parts)) {
      const path = ref.path;
      if (path === undefined || this.#files.has(path) || this.#stopped) continue;
      const source = createFileSource({
        path,
        typeUrl: SECRET_TYPE_URL,
        ...(ref.watchedDirectory !== undefined ? { watchedDirectory: ref.watchedDirectory } : {}),
        onResources: async (_typeUrl, update) => this.#load(path, path, update),
        logger: { info: this.#options.log, warn: this.#options.log },
      });
      this.#files.set(path, source);
      starts.push(source.start().catch((err: Error) => ({ ok: false as const, error: err.message })));
    }
    await Promise.all(starts);
    this.#subscribeServers(parts);
  }

  /** The names of the secrets `parts` wants over ADS. */
  adsNames(parts: Pick<SnapshotParts, 'listeners' | 'clusters'>): string[] {
    return [...new Set(sdsRefs(parts).filter((r) => r.path === undefined && r.server === undefined).map((r) => r.name))].sort();
  }

  /** The secrets held, for /config_dump's dynamic_active_secrets. */
  dumpEntries(): DynamicEntry[] {
    return [...this.#secrets.values()].flatMap((secrets) => [...secrets].map(([name, s]) => ({ name, active: { version: s.version, lastUpdated: s.lastUpdated, raw: s.raw } })));
  }

  /** A Secret response from the ADS stream: ok (ACK) when every secret in it checks out. */
  adsUpdate(update: ResourceUpdate): Promise<UpdateResult> {
    return this.#load('', 'SDS over ADS', update);
  }

  /** `parts` with every SDS reference filled in; what waits for a secret is left out. */
  resolve<T extends Pick<SnapshotParts, 'listeners' | 'clusters'>>(parts: T): T {
    const served = { listeners: new Map<string, Listener>(), clusters: new Map<string, Cluster>() };
    const listeners: Listener[] = [];
    for (const listener of parts.listeners) {
      const resolved = this.#resolveListener(listener) ?? this.#served.listeners.get(listener.name);
      if (resolved === undefined) continue;
      listeners.push(resolved);
      served.listeners.set(resolved.name, resolved);
    }
    const clusters: Cluster[] = [];
    for (const cluster of parts.clusters) {
      const resolved = this.#resolveCluster(cluster) ?? this.#served.clusters.get(cluster.name);
      if (resolved === undefined) continue;
      clusters.push(resolved);
      served.clusters.set(resolved.name, resolved);
    }
    this.#served = served;
    return { ...parts, listeners, clusters };
  }

  /** A served cluster's new hosts (an EDS update), so that falling back to it keeps them. */
  served(cluster: Cluster): void {
    if (this.#served.clusters.has(cluster.name)) this.#served.clusters.set(cluster.name, cluster);
  }

  stop(): void {
    this.#stopped = true;
    for (const file of this.#files.values()) file.stop();
    for (const client of this.#servers.values()) void client?.stop();
  }

  // Each SDS server `parts` names: a client of its own (made on first use), subscribed to exactly
  // the names wanted of it now. A server no longer named keeps its stream with no names.
  #subscribeServers(parts: Pick<SnapshotParts, 'listeners' | 'clusters'>): void {
    const wanted = new Map<string, { server: SdsServer; names: Set<string> }>();
    for (const ref of sdsRefs(parts)) {
      if (ref.server === undefined) continue;
      const key = sourceOf(ref);
      const entry = wanted.get(key) ?? { server: ref.server, names: new Set<string>() };
      entry.names.add(ref.name);
      wanted.set(key, entry);
    }
    for (const [key, { server }] of wanted) {
      if (this.#stopped) return;
      if (!this.#servers.has(key)) this.#servers.set(key, this.#startServer(key, server));
    }
    for (const [key, client] of this.#servers) client?.setResourceNames(SECRET_TYPE_URL, [...(wanted.get(key)?.names ?? [])].sort());
  }

  #startServer(key: string, server: SdsServer): XdsClient | null {
    const servers = this.#options.servers;
    let address: string;
    try {
      if (servers === undefined) throw new Error('this process takes no secrets from SDS servers');
      address = servers.target(server);
    } catch (err) {
      this.#options.log(`SDS server ${describeServer(server)} not started: ${(err as Error).message}`);
      return null;
    }
    const client = createXdsClient({
      server: { address },
      node: servers!.node,
      service: 'sds',
      apiType: server.apiType,
      wildcardTypes: [],
      initialFetchTimeoutMs: 0, // a context waits for its secret however long it takes (it warms)
      onResources: async (_typeUrl, update) => this.#load(key, `SDS server ${describeServer(server)}`, update),
      logger: { info: this.#options.log, warn: this.#options.log },
    });
    client.start();
    return client;
  }

  #resolveListener(listener: Listener): Listener | undefined {
    const chain = (c: FilterChain): FilterChain | undefined => {
      if (c.tls?.sds === undefined) return c;
      const tls = this.#resolveContext(c.tls, `listener '${listener.name}'`);
      return tls === undefined ? undefined : { ...c, tls: { ...c.tls, ...tls } };
    };
    const chains = listener.filterChains.map(chain);
    if (chains.some((c) => c === undefined)) return undefined;
    const resolved: Listener = { ...listener, filterChains: chains as FilterChain[] };
    if (listener.defaultFilterChain !== undefined) {
      const d = chain(listener.defaultFilterChain);
      if (d === undefined) return undefined;
      resolved.defaultFilterChain = d;
    }
    return resolved;
  }

  // A cluster's own transport socket and each of its transport_socket_matches (Istio puts its
  // mTLS context there): all resolved, or undefined while one waits.
  #resolveCluster(cluster: Cluster): Cluster | undefined {
    // Nothing to fill in: the same object, which the workers then skip by identity.
    if (cluster.tls?.sds === undefined && !(cluster.transportSocketMatches ?? []).some((m) => m.tls?.sds !== undefined)) return cluster;
    const owner = `cluster '${cluster.name}'`;
    const resolve = <T extends TlsContext>(tls: T | undefined): T | undefined | null => {
      if (tls?.sds === undefined) return tls;
      const filled = this.#resolveContext(tls, owner);
      return filled === undefined ? null : { ...tls, ...filled };
    };
    const tls = resolve(cluster.tls);
    if (tls === null) return undefined;
    const resolved: Cluster = { ...cluster };
    if (tls !== undefined) resolved.tls = tls;
    if (cluster.transportSocketMatches !== undefined) {
      const matches = [];
      for (const match of cluster.transportSocketMatches) {
        const matchTls = resolve(match.tls);
        if (matchTls === null) return undefined;
        matches.push(matchTls === undefined ? match : { ...match, tls: matchTls });
      }
      resolved.transportSocketMatches = matches;
    }
    return resolved;
  }

  // The certificates and validation a context's references name, or undefined while one is missing.
  #resolveContext(tls: TlsContext, owner: string): Pick<TlsContext, 'certificates' | 'validation'> | undefined {
    const sds = tls.sds!;
    const certificates = [...tls.certificates];
    for (const ref of sds.certificates) {
      const certificate = this.#find(ref, owner)?.tlsCertificate;
      if (certificate === undefined) return this.#waiting(ref, owner, 'tls_certificate');
      certificates.push(certificate);
    }
    let validation = tls.validation;
    if (sds.validation !== undefined) {
      const found: CertificateValidation | undefined = this.#find(sds.validation, owner)?.validation;
      if (found === undefined) return this.#waiting(sds.validation, owner, 'validation_context');
      validation = sds.combined === true && validation !== undefined ? mergeValidation(validation, found) : found;
      if (validation.sanMatchers.length > 0 && validation.trustedCa === undefined) return this.#waiting(sds.validation, owner, 'validation_context with a trusted_ca');
    }
    this.#warming.delete(owner);
    return validation === undefined ? { certificates } : { certificates, validation };
  }

  #find(ref: SdsSecretRef, _owner: string): TlsSecret | undefined {
    return this.#secrets.get(sourceOf(ref))?.get(ref.name)?.secret;
  }

  #waiting(ref: SdsSecretRef, owner: string, part: string): undefined {
    if (!this.#warming.has(owner)) {
      this.#warming.add(owner);
      const from = ref.path ?? (ref.server !== undefined ? `SDS server ${describeServer(ref.server)}` : 'ADS');
      this.#options.log(`${owner} warms: waiting for secret '${ref.name}' (${part}) from ${from}`);
    }
    return undefined;
  }

  // A source's new Secret set: every secret must check out, or none is taken.
  async #load(key: string, source: string, update: ResourceUpdate): Promise<UpdateResult> {
    const counter = (name: string, what: string) => this.#options.store.counter(`sds.${name}.${what}`);
    const next = new Map(this.#secrets.get(key) ?? []); // a secret the source drops stays, as its last good version
    for (const [index, resource] of update.resources.entries()) {
      try {
        const { secret, warnings } = translateSecret(resource.resource, `resources[${index}]`);
        for (const w of warnings) this.#options.log(`warning: ${source}: ${w}`);
        const held = this.#secrets.get(key)?.get(secret.name);
        const lastUpdated = held !== undefined && held.version === resource.version ? held.lastUpdated : Date.now();
        next.set(secret.name, { secret, version: resource.version, lastUpdated, raw: resource.resource });
      } catch (err) {
        for (const r of update.resources) counter(r.name, 'update_rejected').inc();
        return { ok: false, error: (err as Error).message };
      }
    }
    const held = this.#secrets.get(key);
    const changed = update.resources.some((r) => held?.get(r.name)?.version !== r.version || held?.get(r.name) === undefined);
    this.#secrets.set(key, next);
    for (const r of update.resources) counter(r.name, 'update_success').inc();
    if (changed) this.#options.onChange();
    return { ok: true };
  }
}

// Where a reference's secret comes from: a file's path, an SDS server, or '' (ADS).
function sourceOf(ref: SdsSecretRef): string {
  if (ref.path !== undefined) return ref.path;
  if (ref.server !== undefined) return `sds:${describeServer(ref.server)}`;
  return '';
}

function describeServer(server: SdsServer): string {
  const { clusterName, targetUri } = server.grpcService;
  return clusterName !== undefined ? `cluster '${clusterName}'` : `'${targetUri}'`;
}

function sdsRefs(parts: Pick<SnapshotParts, 'listeners' | 'clusters'>): SdsSecretRef[] {
  const refs: SdsSecretRef[] = [];
  const add = (tls: TlsContext | undefined) => {
    if (tls?.sds === undefined) return;
    refs.push(...tls.sds.certificates);
    if (tls.sds.validation !== undefined) refs.push(tls.sds.validation);
  };
  for (const listener of parts.listeners) {
    for (const chain of listener.filterChains) add(chain.tls);
    add(listener.defaultFilterChain?.tls);
  }
  for (const cluster of parts.clusters) {
    add(cluster.tls);
    for (const match of cluster.transportSocketMatches ?? []) add(match.tls);
  }
  return refs;
}
