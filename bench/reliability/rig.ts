// What the chaos and soak runs stand up, all real and on loopback: upstream hosts, a redis-server
// for the global rate limit, a gRPC ADS management server, and `legate run --workers 2` taking
// everything over ADS; for the chaos run also a second Legate on a static bootstrap (SIGHUP
// re-reads a static bootstrap only: with dynamic_resources it is ignored).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../xds-client/index.ts';
import { spawnLegate, type LegateProcess } from '../../test/support/legate-process.ts';
import { startRedis, type RedisServer } from '../../test/support/redis.ts';
import { closedPort } from '../../test/support/upstream.ts';
import { XdsServer } from '../../test/support/xds-server.ts';
import { adsBootstrap, edsClusters, LIMITS_YAML, listenerResource, loadAssignments, routeConfiguration, staticBootstrap, type RigShape } from './config.ts';
import { UpstreamHosts } from './upstream-hosts.ts';

export interface RigOptions {
  hosts: number;
  workers: number;
  /** Also run a Legate on a static bootstrap. */
  staticTarget: boolean;
}

export interface WorkerMemory {
  pid?: number;
  rss_bytes?: number;
  heap_used_bytes?: number;
  heap_total_bytes?: number;
  external_bytes?: number;
  event_loop_delay_p99_ms?: number;
  event_loop_delay_max_ms?: number;
}

export interface ServerMemory {
  primary_rss_bytes: number;
  primary_heap_used_bytes?: number;
  workers: WorkerMemory[];
}

export class Rig {
  readonly dir: string;
  readonly hosts: UpstreamHosts;
  readonly redis: RedisServer;
  readonly xds: XdsServer;
  readonly ads: LegateProcess;
  readonly adsPort: number;
  readonly static: LegateProcess | undefined;
  readonly staticPort: number;
  readonly accessLogPath: string;
  shape: RigShape;
  #version = 1;

  private constructor(fields: {
    dir: string;
    hosts: UpstreamHosts;
    redis: RedisServer;
    xds: XdsServer;
    ads: LegateProcess;
    adsPort: number;
    static: LegateProcess | undefined;
    staticPort: number;
    shape: RigShape;
  }) {
    this.dir = fields.dir;
    this.hosts = fields.hosts;
    this.redis = fields.redis;
    this.xds = fields.xds;
    this.ads = fields.ads;
    this.adsPort = fields.adsPort;
    this.static = fields.static;
    this.staticPort = fields.staticPort;
    this.shape = fields.shape;
    this.accessLogPath = fields.shape.accessLogPath;
  }

  static async start(options: RigOptions): Promise<Rig> {
    const dir = mkdtempSync(join(tmpdir(), 'legate-reliability-'));
    const limitsPath = join(dir, 'limits.yaml');
    writeFileSync(limitsPath, LIMITS_YAML);
    const hosts = await UpstreamHosts.start(options.hosts);
    const redis = await startRedis();
    const xds = new XdsServer();
    await xds.start();
    const shape: RigShape = { hostPorts: hosts.ports, accessLogPath: join(dir, 'access.log') };
    // A fixed port: with SO_REUSEPORT each worker binds its own socket for an xDS listener.
    const adsPort = await closedPort();
    xds.setResources(CLUSTER_TYPE_URL, 'c1', edsClusters());
    xds.setResources(ENDPOINT_TYPE_URL, 'v1', loadAssignments(shape));
    xds.setResources(LISTENER_TYPE_URL, 'l1', [listenerResource(shape, adsPort, true)]);
    xds.setResources(ROUTE_TYPE_URL, 'v1', [routeConfiguration(shape)]);
    const workers = ['--workers', String(options.workers), '--drain-time-s', '5'];
    // bin/legate.js, as users run it: `node proxy/cli.ts` would keep the TypeScript transpiler in
    // the primary (~20 MB of the memory the soak reports).
    const entry = { entry: 'bin' } as const;
    const ads = await spawnLegate(adsBootstrap(xds.port, limitsPath, redis.url), workers, entry);
    let staticLegate: LegateProcess | undefined;
    let staticPort = 0;
    if (options.staticTarget) {
      staticPort = await closedPort();
      staticLegate = await spawnLegate(staticBootstrap(shape, staticPort, limitsPath, redis.url), workers, entry);
    }
    return new Rig({ dir, hosts, redis, xds, ads, adsPort, static: staticLegate, staticPort, shape });
  }

  get limitsPath(): string {
    return join(this.dir, 'limits.yaml');
  }

  /**
   * Pushes a new shape to the ADS Legate: endpoints (EDS) and routes (RDS), and resolves once both
   * are ACKed (rejects on a NACK or after timeoutMs).
   */
  async push(shape: RigShape, timeoutMs = 10_000): Promise<void> {
    this.shape = shape;
    const version = `v${++this.#version}`;
    const after = this.xds.requests.length;
    this.xds.setResources(ENDPOINT_TYPE_URL, version, loadAssignments(shape));
    this.xds.setResources(ROUTE_TYPE_URL, version, [routeConfiguration(shape)]);
    for (const typeUrl of [ENDPOINT_TYPE_URL, ROUTE_TYPE_URL]) {
      // The answer to any response that carried this version: on a stream that has just reopened
      // (after a control-plane restart) the server sends it only once Legate subscribes again.
      const ofThisVersion = (nonce: unknown) =>
        nonce !== undefined && this.xds.responses.some((x) => x.response.type_url === typeUrl && x.response.version_info === version && x.response.nonce === nonce);
      const answer = await this.xds.waitForRequest((r) => r.request.type_url === typeUrl && ofThisVersion(r.request.response_nonce), { after, timeoutMs });
      if (answer.request.error_detail !== undefined) throw new Error(`push ${version} NACKed: ${JSON.stringify(answer.request.error_detail)}`);
    }
  }

  /** The static Legate's bootstrap file, rewritten (SIGHUP then reloads it). */
  writeStaticBootstrap(shape: RigShape | string): void {
    if (this.static === undefined) throw new Error('no static Legate in this rig');
    if (typeof shape === 'string') writeFileSync(this.static.configPath, shape);
    else this.static.rewriteConfig(staticBootstrap(shape, this.staticPort, this.limitsPath, this.redis.url));
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.ads.stop('SIGKILL'), this.static?.stop('SIGKILL')]);
    await this.xds.stop();
    await this.redis.stop();
    await this.hosts.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The memory of a Legate's processes as its admin reports it (/server_info). */
export async function serverMemory(legate: LegateProcess): Promise<ServerMemory> {
  const res = await request(legate.adminUrl('/server_info'), { headersTimeout: 5000, bodyTimeout: 5000 });
  const info = (await res.body.json()) as { memory: ServerMemory };
  return info.memory;
}

export async function workerPids(legate: LegateProcess): Promise<number[]> {
  return (await serverMemory(legate)).workers.map((w) => w.pid ?? 0).filter((pid) => pid > 0);
}
