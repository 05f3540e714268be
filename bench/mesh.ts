// Mesh scale: how long `legate run` takes to apply an istiod-shaped config of N services over ADS
// (test/support/xds/mesh.ts: N EDS clusters and load assignments, one route config with N virtual
// hosts, one listener), the memory it then holds, and what one endpoint change costs at that size.
// Run by `npm run bench` (a section of its results) and alone by `npm run bench:mesh`.
// Figures per size:
// - full: from the first xDS request to the first response routed to the last service's host;
// - RSS: of each process 2 s after the apply (primary, then workers);
// - EDS one: a response carrying one changed load assignment (istiod's incremental push; with
//   delta xDS every push is one), from the push to its ACK and to the first response from the
//   new endpoint; median and max over `changes` pushes;
// - RDS one: a response carrying one changed route config, a small one beside the mesh's;
// - EDS all: the same change in a state-of-the-world response carrying every load assignment.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { spawnLegate } from '../test/support/legate-process.ts';
import { startUpstream } from '../test/support/upstream.ts';
import { XdsServer } from '../test/support/xds-server.ts';
import { inboundRouteConfig, meshLoadAssignment, meshResources, serviceCluster, serviceHost } from '../test/support/xds/mesh.ts';
import { adsBootstrap, CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../test/support/xds-proxy.ts';
import { processTree } from './proc-stats.ts';

export interface MeshOptions {
  sizes: number[];
  workers: number;
  changes: number;
  apiType: 'GRPC' | 'DELTA_GRPC';
}

export interface MeshRow {
  services: number;
  fullMs: number;
  /** MiB: the primary, then each worker. */
  rss: number[];
  edsOne: number[];
  edsOneTraffic: number[];
  rdsOne: number[];
  edsAll: number[];
}

// Issue #18's goals: one changed resource applied in under 20 ms whatever the size, 10,000
// services in under 3 s, under 250 MB per process at 5,000 services.
const GOAL_ONE_CHANGE_MS = 20;
const GOAL_10K_FULL_MS = 3000;
const GOAL_5K_RSS_MIB = 250;

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb === null ? 0 : Number(kb[1]) / 1024;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function measureMesh(options: MeshOptions, log: (line: string) => void): Promise<MeshRow[]> {
  const { sizes, changes, apiType } = options;
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  const dispatcher = new Agent({ connections: 4 });
  const { NODE_OPTIONS: _hooks, ...env } = process.env;
  const rows: MeshRow[] = [];
  try {
    for (const n of sizes) rows.push(await measureSize(n));
  } finally {
    await dispatcher.close();
    await a.close();
    await b.close();
  }
  return rows;

  async function measureSize(n: number): Promise<MeshRow> {
    const server = new XdsServer();
    await server.start();
    const mesh = meshResources(n, a.port);
    server.setResources(CLUSTER_TYPE_URL, 'c1', mesh.clusters);
    server.setResources(ENDPOINT_TYPE_URL, 'e0', mesh.loadAssignments);
    server.setResources(LISTENER_TYPE_URL, 'l1', [mesh.listener, mesh.inbound]);
    server.setResources(ROUTE_TYPE_URL, 'r1', [mesh.routeConfig, inboundRouteConfig(serviceCluster(0), 'r1')]);
    let firstRequestAt = 0;
    const firstRequest = server.waitForRequest(() => true, { timeoutMs: 60_000 }).then(() => (firstRequestAt = performance.now()));
    const legate = await spawnLegate(adsBootstrap(server.port, { apiType, initialFetchTimeout: '60s' }), ['--workers', String(options.workers)], { env });
    try {
      await firstRequest;
      const last = serviceHost(n - 1);
      // Which upstream answers for a host (bounded retries while the listener binds).
      const upstreamOf = async (host: string): Promise<string> => {
        const res = await request(legate.url('/', 'outbound'), { dispatcher, headers: { host } });
        const body = await res.body.text();
        return res.statusCode === 200 ? (JSON.parse(body) as { upstream: string }).upstream : `status ${res.statusCode}`;
      };
      let seen = '';
      for (let i = 0; i < 1000 && seen !== 'a'; i++) seen = await upstreamOf(last).catch(() => '');
      if (seen !== 'a') throw new Error(`service ${last} not routed to a: ${seen}`);
      const fullMs = performance.now() - firstRequestAt;
      // Settled: a large update is followed by a full collection after 1 s of quiet (v8-heap.ts).
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const rss = processTree([legate.child.pid!]).map(rssMiB);

      const on = new Map<number, typeof a>(); // the upstream each changed service is on now (a before)
      // One changed load assignment per push; `all` sends every load assignment in the response.
      const push = async (k: number, all: boolean): Promise<{ ack: number; traffic: number }> => {
        const i = (k * 7919) % n;
        // Always a real change: a delta server sends nothing for an unchanged resource.
        const target = on.get(i) === b ? a : b;
        on.set(i, target);
        const changed = meshLoadAssignment(i, [target.port]);
        const start = performance.now();
        const after = server.requests.length;
        const version = `e${all ? 'all' : 'one'}${k}`;
        mesh.loadAssignments[i] = changed;
        if (all) server.setResources(ENDPOINT_TYPE_URL, version, mesh.loadAssignments);
        else server.updateResources(ENDPOINT_TYPE_URL, version, [changed]);
        const nonce = server.lastResponse(ENDPOINT_TYPE_URL)!.response.nonce;
        await server.waitForRequest((r) => r.request.type_url === ENDPOINT_TYPE_URL && r.request.response_nonce === nonce, { after, timeoutMs: 30_000 });
        const ack = performance.now() - start;
        for (let tries = 0; tries < 1000 && (await upstreamOf(serviceHost(i))) !== target.name; tries++);
        return { ack, traffic: performance.now() - start };
      };
      const row: MeshRow = { services: n, fullMs, rss, edsOne: [], edsOneTraffic: [], rdsOne: [], edsAll: [] };
      for (let k = 0; k < changes; k++) {
        const r = await push(k, false);
        row.edsOne.push(r.ack);
        row.edsOneTraffic.push(r.traffic);
      }
      // One changed route config, a small one beside the mesh's (the sidecar's inbound routes).
      for (let k = 0; k < changes; k++) {
        const tag = `rin${k}`;
        const start = performance.now();
        const after = server.requests.length;
        server.updateResources(ROUTE_TYPE_URL, tag, [inboundRouteConfig(serviceCluster(0), tag)]);
        const nonce = server.lastResponse(ROUTE_TYPE_URL)!.response.nonce;
        await server.waitForRequest((r) => r.request.type_url === ROUTE_TYPE_URL && r.request.response_nonce === nonce, { after, timeoutMs: 30_000 });
        row.rdsOne.push(performance.now() - start);
      }
      if (apiType === 'GRPC') for (let k = 0; k < Math.min(changes, 5); k++) row.edsAll.push((await push(changes + k, true)).ack);
      log(`mesh: ${n} services: full ${fullMs.toFixed(0)} ms; RSS ${rss.map((m) => m.toFixed(0)).join(' + ')} MiB; EDS one: ACK median ${median(row.edsOne).toFixed(1)} ms (max ${Math.max(...row.edsOne).toFixed(1)}), traffic median ${median(row.edsOneTraffic).toFixed(1)} ms; RDS one (small): ACK median ${median(row.rdsOne).toFixed(1)} ms${row.edsAll.length > 0 ? `; EDS all: ACK median ${median(row.edsAll).toFixed(0)} ms` : ''}`);
      return row;
    } finally {
      await legate.stop();
      await server.stop();
    }
  }
}

/** The rows as a Markdown table, then one line per goal of issue #18 that the sizes measured. */
export function meshTable(rows: MeshRow[], options: MeshOptions): string {
  const sotw = options.apiType === 'GRPC';
  const lines = [
    `| services | full apply, routed | RSS MiB (primary${options.workers > 1 ? ' + workers' : ''}) | one EDS change: ACK median (max) | to traffic | one small RDS change: ACK median |${sotw ? ' SotW EDS with every assignment: ACK |' : ''}`,
    `| --: | --: | --: | --: | --: | --: |${sotw ? ' --: |' : ''}`,
    ...rows.map((r) =>
      `| ${r.services} | ${(r.fullMs / 1000).toFixed(2)} s | ${r.rss.map((m) => m.toFixed(0)).join(' + ')} | ${median(r.edsOne).toFixed(1)} ms (${Math.max(...r.edsOne).toFixed(1)}) | ${median(r.edsOneTraffic).toFixed(1)} ms | ${median(r.rdsOne).toFixed(1)} ms |${r.edsAll.length > 0 ? ` ${median(r.edsAll).toFixed(0)} ms |` : sotw ? ' – |' : ''}`),
  ];
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  const goals: string[] = [];
  if (rows.length > 0) {
    const worst = Math.max(...rows.flatMap((r) => [median(r.edsOne), median(r.rdsOne)]));
    goals.push(`- one changed resource applied (ACK) in under ${GOAL_ONE_CHANGE_MS} ms at every size: worst median ${worst.toFixed(1)} ms, ${verdict(worst < GOAL_ONE_CHANGE_MS)}`);
  }
  const tenK = rows.find((r) => r.services === 10_000);
  if (tenK) goals.push(`- 10,000 services applied in under ${GOAL_10K_FULL_MS / 1000} s: ${(tenK.fullMs / 1000).toFixed(2)} s, ${verdict(tenK.fullMs < GOAL_10K_FULL_MS)}`);
  const fiveK = rows.find((r) => r.services === 5000);
  if (fiveK) goals.push(`- under ${GOAL_5K_RSS_MIB} MB per process at 5,000 services: largest ${Math.max(...fiveK.rss).toFixed(0)} MiB, ${verdict(Math.max(...fiveK.rss) < GOAL_5K_RSS_MIB)}`);
  return [...lines, '', ...(goals.length > 0 ? ['Goals (issue #18):', ...goals] : [])].join('\n');
}
