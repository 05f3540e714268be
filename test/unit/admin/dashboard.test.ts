// The dashboard's frames (numbers from the stats the proxy keeps, rates between frames, the observed
// split, xDS state) and its feed (one sample a second while a client is connected, no timer without).
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { Snapshot } from '../../../proxy/config/snapshot.ts';
import type { AdminContext, AdminSink } from '../../../proxy/admin/context.ts';
import { buildFrame, MAX_HOSTS, type Frame, type FrameInput } from '../../../proxy/admin/dashboard/frame.ts';
import { DashboardFeed } from '../../../proxy/admin/dashboard/feed.ts';
import { mergeSnapshots, Store } from '../../../proxy/stats/index.ts';
import type { ClusterStatus } from '../../../proxy/upstream/index.ts';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';

const boot = translateBootstrap(bootstrap(
  [httpListener('web', routes([{ name: 'split', match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }] } } }]))],
  [staticCluster('a', [{ port: 8001 }]), staticCluster('b', [{ port: 8002 }])],
));
const snapshot: Snapshot = { version: 4, listeners: boot.listeners, clusters: boot.clusters, routeConfigs: boot.routeConfigs, versions: { lds: 'static', cds: 'static', rds: {}, eds: {} } };

function hostStatus(address: string, healthFlags: string, rqTotal: number): ClusterStatus['hosts'][number] {
  return { address, hostname: '', weight: 1, priority: 0, locality: '', healthFlags, stats: { cxTotal: 1, cxActive: 1, cxConnectFail: 0, rqTotal, rqSuccess: rqTotal, rqError: 0, rqTimeout: 0, rqActive: 0 } };
}

function inputOf(store: Store, now: number, extra: Partial<FrameInput> = {}): FrameInput {
  return {
    now,
    state: 'LIVE',
    startTime: now - 65_000,
    nodeId: 'n1',
    pid: 10,
    snapshot,
    boundPorts: new Map([['web', 10000]]),
    stats: mergeSnapshots([store.snapshot()]),
    clusters: [],
    memory: undefined,
    xds: undefined,
    ...extra,
  };
}

t.test('an internal listener: its envoy:// address and listener.envoy_internal_<name>. stats', async (t) => {
  const internal = translateBootstrap({
    bootstrap_extensions: [{ name: 'envoy.bootstrap.internal_listener', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener' } }],
    static_resources: { listeners: [{ ...httpListener('inner', routes([{ match: { prefix: '/' }, route: { cluster: 'a' } }])), address: undefined, internal_listener: {} }], clusters: [staticCluster('a', [{ port: 8001 }])] },
  });
  const store = new Store();
  store.counter('listener.envoy_internal_inner.downstream_cx_total').inc(4);
  const { frame } = buildFrame(inputOf(store, 0, { snapshot: { ...snapshot, listeners: internal.listeners } }), null, new Map());
  t.match(frame.listeners[0], { name: 'inner', address: 'envoy://inner/', cxTotal: 4 });
});

t.test('listeners: connections, requests, response classes, latency and rates', async (t) => {
  const store = new Store();
  store.counter('listener.127.0.0.1_0.downstream_cx_total').inc(3);
  store.gauge('listener.127.0.0.1_0.downstream_cx_active').set(2);
  store.counter('http.web.downstream_rq_total').inc(10);
  store.counter('http.web.downstream_rq_2xx').inc(9);
  store.counter('http.web.downstream_rq_5xx').inc(1);
  for (let i = 1; i <= 100; i++) store.histogram('http.web.downstream_rq_time', 'ms').record(i);

  const first = buildFrame(inputOf(store, 1_000_000), null, new Map());
  const [web] = first.frame.listeners;
  t.match(web, { name: 'web', address: '127.0.0.1:10000', cxActive: 2, cxTotal: 3, cps: null });
  t.match(web.managers, [{ kind: 'http', statPrefix: 'web', rqTotal: 10, rps: null, classes: [0, 9, 0, 0, 1] }]);
  t.same(web.managers[0].latencyMs, { p50: 50, p90: 90, p99: 99, count: 100 }, 'bucket upper edges: exact at two digits');
  t.equal(first.frame.uptimeS, 65);

  store.counter('http.web.downstream_rq_total').inc(5);
  const second = buildFrame(inputOf(store, 1_002_000), first.totals, new Map());
  t.equal(second.frame.listeners[0].managers[0].rps, 2.5, '5 requests in 2 s');
  t.equal(second.frame.listeners[0].cps, 0);

  // A counter that went down (a worker replaced, its counts gone) is a restart, not a negative rate.
  const smaller = new Store();
  smaller.counter('http.web.downstream_rq_total').inc(2);
  t.equal(buildFrame(inputOf(smaller, 1_003_000), second.totals, new Map()).frame.listeners[0].managers[0].rps, 0);
});

t.test('clusters: counters, hosts with health and ejections, and the observed split', async (t) => {
  const store = new Store();
  const a = store.counter('cluster.a.upstream_rq_total');
  const b = store.counter('cluster.b.upstream_rq_total');
  a.inc(100); // before the stream started: not part of the observed split
  store.counter('cluster.a.upstream_rq_retry').inc(2);
  store.counter('cluster.a.upstream_rq_timeout').inc(1);
  store.counter('cluster.a.upstream_rq_pending_overflow').inc(4);
  store.gauge('cluster.a.outlier_detection.ejections_active').set(1);
  store.counter('cluster.a.outlier_detection.ejections_enforced_total').inc(3);
  const hosts = Array.from({ length: MAX_HOSTS + 5 }, (_, i) => hostStatus(`10.0.0.${i}:80`, i === 0 ? '/failed_outlier_check' : 'healthy', i));
  const clusters: ClusterStatus[] = [{ name: 'a', circuitBreakers: [], hosts }];
  const baseline = new Map<string, number>();
  const first = buildFrame(inputOf(store, 0, { clusters }), null, baseline);
  const ca = first.frame.clusters.find((c) => c.name === 'a')!;
  t.match(ca, { rqTotal: 100, retries: 2, timeouts: 1, overflows: { connections: 0, pending: 4, retries: 0 }, ejectionsActive: 1, ejectionsTotal: 3, healthy: MAX_HOSTS + 4, hostsOmitted: 5 });
  t.equal(ca.hosts.length, MAX_HOSTS);
  t.match(ca.hosts[0], { address: '10.0.0.0:80', ejected: true, health: '/failed_outlier_check' });
  t.same(first.frame.splits, [{ where: 'inline:web:0 / all / split', clusters: [
    { name: 'a', configuredPercent: 75, observedPercent: null, requests: 0 },
    { name: 'b', configuredPercent: 25, observedPercent: null, requests: 0 },
  ] }]);

  a.inc(30);
  b.inc(10);
  const second = buildFrame(inputOf(store, 1000, { clusters }), first.totals, baseline);
  t.same(second.frame.splits[0].clusters.map((c) => [c.requests, c.observedPercent]), [[30, 75], [10, 25]], 'counted from the stream start');
  t.equal(second.frame.clusters.find((c) => c.name === 'b')!.rps, 10);
});

t.test('xDS versions, the last NACK first, and the processes', async (t) => {
  const xds = {
    controlPlane: { address: '127.0.0.1:18000', connected: true },
    rejected: [
      { type: 'cds' as const, source: 'ads', version: '3', error: 'older', time: 10 },
      { type: 'rds' as const, source: 'ads', version: '7', error: 'route_config x: bad regex', time: 20 },
    ],
  };
  const memory = { primary_rss_bytes: 50e6, workers: [{ worker: 0, pid: 11, rss_bytes: 70e6 }, { worker: 1, pid: 12, rss_bytes: 71e6 }] };
  const versioned = { ...snapshot, versions: { lds: 'v1', cds: 'v2', rds: { r1: 'v5', r2: 'v5' }, eds: { a: 'e1', b: 'e2' } } };
  const { frame } = buildFrame(inputOf(new Store(), 0, { xds, memory, snapshot: versioned }), null, new Map());
  t.same(frame.xds.types, [
    { type: 'LDS', version: 'v1', resources: 1 },
    { type: 'CDS', version: 'v2', resources: 2 },
    { type: 'RDS', version: 'v5', resources: 2 },
    { type: 'EDS', version: 'e1, e2', resources: 2 },
  ]);
  t.same(frame.xds.lastNack, { type: 'RDS', source: 'ads', version: '7', error: 'route_config x: bad regex', time: 20 });
  t.equal(frame.xds.nacks.length, 2);
  t.same(frame.xds.controlPlane, xds.controlPlane);
  t.same(frame.workers, [{ worker: 'primary', pid: 10, rssBytes: 50e6 }, { worker: '0', pid: 11, rssBytes: 70e6 }, { worker: '1', pid: 12, rssBytes: 71e6 }]);
});

// ---- the feed ----

class FakeContext {
  readonly store = new Store();
  readonly node = { id: 'n1', cluster: 'c' };
  readonly startTime = Date.now();
  readonly state = 'LIVE';
  readonly snapshot = snapshot;
  readonly applied = null;
  samples = 0;
  async stats() {
    this.samples++;
    this.store.counter('http.web.downstream_rq_total').inc(7);
    return mergeSnapshots([this.store.snapshot()]);
  }
  async clusters() {
    return [];
  }
}

class Client implements AdminSink {
  frames: Frame[] = [];
  raw = '';
  #close: (() => void)[] = [];
  #waiters: (() => void)[] = [];
  write(chunk: string) {
    this.raw += chunk;
    if (chunk.startsWith('data: ')) this.frames.push(JSON.parse(chunk.slice(6)) as Frame);
    for (const w of this.#waiters.splice(0)) w();
  }
  buffered() {
    return 0;
  }
  onClose(listener: () => void) {
    this.#close.push(listener);
  }
  close() {
    for (const l of this.#close) l();
  }
  /** Resolves once n frames arrived (bounded). */
  async frameCount(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.frames.length} of ${n} frames`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, 100);
      });
      clearTimeout(timer);
    }
  }
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** Waits (bounded) until the feed has stopped: a sample in flight when the last client left ends first. */
async function stopped(feed: DashboardFeed): Promise<boolean> {
  for (let i = 0; i < 100 && feed.running; i++) await new Promise((resolve) => setImmediate(resolve));
  return !feed.running;
}

t.test('the feed samples only while a client is connected', async (t) => {
  const ctx = new FakeContext();
  const feed = new DashboardFeed(ctx as unknown as AdminContext, 20);
  const before = timers();
  t.notOk(feed.running, 'nothing runs before a client');

  const one = new Client();
  feed.attach(one);
  t.ok(feed.running, 'the first client starts it');
  await one.frameCount(3);
  t.match(one.raw, /^retry: 2000\n\n/, 'an event stream with a reconnect delay');
  t.equal(one.frames[0].listeners[0].managers[0].rps, null, 'no rate in the first frame');
  t.ok(one.frames[2].listeners[0].managers[0].rps! > 0, 'a rate from the second frame on');

  const two = new Client();
  feed.attach(two);
  t.equal(two.frames.length, 1, 'a second client gets the latest frame at once');
  const sampled = ctx.samples;
  await two.frameCount(3);
  t.ok(ctx.samples - sampled <= 3, 'both clients share one sample a frame');

  one.close();
  t.ok(feed.running, 'still running for the other client');
  two.close();
  t.ok(await stopped(feed), 'the last client stops it');
  t.equal(timers(), before, 'no timer is left');
  const samples = ctx.samples;
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(ctx.samples, samples, 'no sample without clients');

  const three = new Client();
  feed.attach(three);
  await three.frameCount(1);
  t.equal(three.frames[0].listeners[0].managers[0].rps, null, 'a new stream starts afresh');
  three.close();
  t.ok(await stopped(feed));
});

t.test('a failed sample is an event, and the feed goes on', async (t) => {
  const ctx = new FakeContext();
  let fail = true;
  const failing = Object.assign(Object.create(ctx) as FakeContext, {
    stats: async () => {
      if (fail) {
        fail = false;
        throw new Error('worker 1 did not answer');
      }
      return ctx.stats();
    },
  });
  const feed = new DashboardFeed(failing as unknown as AdminContext, 10);
  const client = new Client();
  feed.attach(client);
  await client.frameCount(1);
  t.match(client.raw, 'event: failure\ndata: "worker 1 did not answer"\n\n');
  client.close();
  t.ok(await stopped(feed));
});
