// SDS from files (sds_config.path_config_source) and over ADS (sds_config.ads). The primary
// watches each file named by a TLS context's SdsSecretRef with the same watcher as file-based
// LDS/CDS (xds-client's FileSource); ADS secrets come from the xDS client (dynamic-config.ts
// subscribes to the names `adsNames` gives and hands each Secret response to `adsUpdate`, whose
// result is the ACK or NACK). Either way the primary
// checks every Secret in it (files read, PEM parsed, key matched to its certificate) and fills the
// listeners' and clusters' TLS contexts before a snapshot goes to the workers. A file whose
// secrets do not check out is rejected as a whole and the last good secrets stay. A listener or
// cluster whose secret has not loaded yet is left out of the snapshot (it warms, as in Envoy)
// and enters with the first good load.
import { createFileSource, SECRET_TYPE_URL } from '../../xds-client/index.ts';
import type { FileSource, ResourceUpdate, UpdateResult } from '../../xds-client/index.ts';
import { translateSecret } from '../config/index.ts';
import type { Cluster, FilterChain, Listener, SdsSecretRef, TlsContext, TlsSecret } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import type { SnapshotParts } from './dynamic-config.ts';

export interface SecretFilesOptions {
  store: Store;
  log(line: string): void;
  /** A watched file brought new secrets: the current resources are to be resolved again. */
  onChange(): void;
}

interface Loaded {
  secret: TlsSecret;
  version: string;
}

export class SecretFiles {
  readonly #options: SecretFilesOptions;
  readonly #files = new Map<string, FileSource>(); // by path
  readonly #secrets = new Map<string, Map<string, Loaded>>(); // path ('' = ADS) -> name -> secret
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
        onResources: async (_typeUrl, update) => this.#load(path, update),
        logger: { info: this.#options.log, warn: this.#options.log },
      });
      this.#files.set(path, source);
      starts.push(source.start().catch((err: Error) => ({ ok: false as const, error: err.message })));
    }
    await Promise.all(starts);
  }

  /** The names of the secrets `parts` wants over ADS. */
  adsNames(parts: Pick<SnapshotParts, 'listeners' | 'clusters'>): string[] {
    return [...new Set(sdsRefs(parts).filter((r) => r.path === undefined).map((r) => r.name))].sort();
  }

  /** A Secret response from the ADS stream: ok (ACK) when every secret in it checks out. */
  adsUpdate(update: ResourceUpdate): Promise<UpdateResult> {
    return this.#load('', update);
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
      let resolved: Cluster | undefined = cluster;
      if (cluster.tls?.sds !== undefined) {
        const tls = this.#resolveContext(cluster.tls, `cluster '${cluster.name}'`);
        resolved = tls !== undefined ? { ...cluster, tls: { ...cluster.tls, ...tls } } : this.#served.clusters.get(cluster.name);
      }
      if (resolved === undefined) continue;
      clusters.push(resolved);
      served.clusters.set(resolved.name, resolved);
    }
    this.#served = served;
    return { ...parts, listeners, clusters };
  }

  stop(): void {
    this.#stopped = true;
    for (const file of this.#files.values()) file.stop();
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
      validation = this.#find(sds.validation, owner)?.validation;
      if (validation === undefined) return this.#waiting(sds.validation, owner, 'validation_context');
    }
    this.#warming.delete(owner);
    return validation === undefined ? { certificates } : { certificates, validation };
  }

  #find(ref: SdsSecretRef, _owner: string): TlsSecret | undefined {
    return this.#secrets.get(ref.path ?? '')?.get(ref.name)?.secret;
  }

  #waiting(ref: SdsSecretRef, owner: string, part: string): undefined {
    if (!this.#warming.has(owner)) {
      this.#warming.add(owner);
      this.#options.log(`${owner} warms: waiting for secret '${ref.name}' (${part}) from ${ref.path ?? 'ADS'}`);
    }
    return undefined;
  }

  // A file's new Secret set: every secret must check out, or none is taken.
  async #load(path: string, update: ResourceUpdate): Promise<UpdateResult> {
    const counter = (name: string, what: string) => this.#options.store.counter(`sds.${name}.${what}`);
    const next = new Map(this.#secrets.get(path) ?? []); // a secret the file drops stays, as its last good version
    for (const [index, resource] of update.resources.entries()) {
      try {
        const { secret, warnings } = translateSecret(resource.resource, `resources[${index}]`);
        for (const w of warnings) this.#options.log(`warning: ${path || 'SDS over ADS'}: ${w}`);
        next.set(secret.name, { secret, version: resource.version });
      } catch (err) {
        for (const r of update.resources) counter(r.name, 'update_rejected').inc();
        return { ok: false, error: (err as Error).message };
      }
    }
    const changed = update.resources.some((r) => this.#secrets.get(path)?.get(r.name)?.version !== r.version || this.#secrets.get(path)?.get(r.name) === undefined);
    this.#secrets.set(path, next);
    for (const r of update.resources) counter(r.name, 'update_success').inc();
    if (changed) this.#options.onChange();
    return { ok: true };
  }
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
  for (const cluster of parts.clusters) add(cluster.tls);
  return refs;
}
