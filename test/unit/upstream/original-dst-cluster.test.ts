// ORIGINAL_DST clusters: the host is the stream's original destination, made on first use and
// dropped by the cleanup_interval sweep that finds it unused since the sweep before.
import t from 'tap';
import { translateCluster } from '../../../proxy/config/index.ts';
import { Store } from '../../../proxy/stats/index.ts';
import { UpstreamCluster, type Host } from '../../../proxy/upstream/index.ts';
import { OriginalDstHosts, parseAddress } from '../../../proxy/upstream/original-dst-cluster.ts';

t.test('addresses as StreamInfo writes them', async (t) => {
  t.strictSame(parseAddress('10.0.0.7:8080'), { ip: '10.0.0.7', port: 8080 });
  t.strictSame(parseAddress('[fd00::7]:80'), { ip: 'fd00::7', port: 80 });
  t.strictSame(parseAddress('fd00::7:80'), { ip: 'fd00::7', port: 80 }, 'IPv6 without brackets: the port is after the last colon');
  t.strictSame(parseAddress('::ffff:10.0.0.7:8080'), { ip: '10.0.0.7', port: 8080 }, 'v4-mapped, as a dual-stack socket reports IPv4');
  for (const bad of ['', '10.0.0.7', '10.0.0.7:0', '10.0.0.7:70000', 'example.com:80', ':80']) t.equal(parseAddress(bad), null, `'${bad}' is no destination`);
});

t.test('one host per destination, made on first use', async (t) => {
  const changes: [string[], string[]][] = [];
  const hosts = new OriginalDstHosts(60_000, (all, removed) => changes.push([all.map((h) => h.address), removed.map((h) => h.address)]));
  t.teardown(() => hosts.close());
  t.equal(hosts.chooseHost(), null, 'no stream, no destination');
  t.equal(hosts.chooseHost({ downstreamLocalAddress: 'nonsense' }), null);
  const first = hosts.chooseHost({ downstreamLocalAddress: '10.0.0.7:8080' });
  t.match(first, { ip: '10.0.0.7', port: 8080, address: '10.0.0.7:8080', weight: 1 });
  t.equal(hosts.chooseHost({ downstreamLocalAddress: '::ffff:10.0.0.7:8080' }), first, 'the same destination, the same host');
  const other = hosts.chooseHost({ downstreamLocalAddress: '10.0.0.8:8080' });
  t.not(other, first);
  t.strictSame(changes, [[['10.0.0.7:8080'], []], [['10.0.0.7:8080', '10.0.0.8:8080'], []]], 'told of each new host');
});

t.test('the sweep drops a host once a whole interval passed without use', async (t) => {
  const interval = 30;
  let removedAt = 0;
  const removed = new Promise<Host[]>((resolve) => {
    const hosts = new OriginalDstHosts(interval, (_all, gone) => {
      if (gone.length === 0) return;
      removedAt = performance.now();
      hosts.close();
      resolve(gone);
    });
    t.teardown(() => hosts.close());
    hosts.chooseHost({ downstreamLocalAddress: '10.0.0.7:8080' });
  });
  const start = performance.now();
  // The sweep's timer does not hold the process open (unref), so the test holds it, for a bounded time.
  const hold = setTimeout(() => {}, 5_000);
  const gone = await removed;
  clearTimeout(hold);
  t.strictSame(gone.map((h) => h.address), ['10.0.0.7:8080']);
  // Used before the first sweep, so that sweep keeps it; the second drops it.
  t.ok(removedAt - start >= 2 * interval - 5, `kept through the first sweep (dropped after ${Math.round(removedAt - start)} ms)`);
});

t.test('an ORIGINAL_DST cluster: hosts on demand, membership, cleanup_interval', async (t) => {
  const { cluster: config } = translateCluster({ name: 'passthrough', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', cleanup_interval: '0.03s' });
  t.equal(config.cleanupIntervalMs, 30);
  t.equal(translateCluster({ name: 'p', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }).cluster.cleanupIntervalMs, 5000, "Envoy's default");
  const store = new Store();
  const cluster = new UpstreamCluster(config, store);
  t.teardown(() => cluster.close());
  t.strictSame(cluster.hosts, [], 'no configured hosts');
  t.equal(cluster.chooseHost({}), null, 'a stream without an original destination has no host');
  const host = cluster.chooseHost({ downstreamLocalAddress: '192.0.2.10:5432' });
  t.equal(host?.address, '192.0.2.10:5432');
  t.strictSame(cluster.hosts, [host], 'the host is in the cluster (for /clusters)');
  t.equal(store.gauge('cluster.passthrough.membership_total').value, 1);
  // The sweep empties the cluster once the host goes unused.
  const deadline = Date.now() + 5_000;
  while (cluster.hosts.length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.strictSame(cluster.hosts, [], 'dropped after cleanup_interval');
  t.equal(store.gauge('cluster.passthrough.membership_total').value, 0);
});

t.test('upstream_bind_config: the source IP only', async (t) => {
  const bind = (source: object) => translateCluster({ name: 'in', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: source } });
  t.equal(bind({ address: '127.0.0.6', port_value: 0 }).cluster.upstreamBindAddress, '127.0.0.6');
  t.throws(() => bind({ address: '127.0.0.6', port_value: 1234 }), /upstream_bind_config\.source_address\.port_value: a fixed source port is not supported/);
  t.throws(() => bind({ address: 'localhost', port_value: 0 }), /is not an IP address/);
});

t.test('original_dst_lb_config.upstream_port_override: the destination IP on another port', async (t) => {
  const cluster = (lb: object, extra: object = {}) => translateCluster({ name: 'o', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', original_dst_lb_config: lb, ...extra }).cluster;
  // istiod's shape for a headless service whose target port differs from its port.
  const config = cluster({ upstream_port_override: 8080 });
  t.equal(config.upstreamPortOverride, 8080);
  t.equal(cluster({}).upstreamPortOverride, undefined, 'absent: the destination port as it is');
  const upstream = new UpstreamCluster(config, new Store());
  t.teardown(() => upstream.close());
  const host = upstream.chooseHost({ downstreamLocalAddress: '192.0.2.10:80' });
  t.equal(host?.address, '192.0.2.10:8080');
  t.equal(upstream.chooseHost({ downstreamLocalAddress: '192.0.2.10:9090' }), host, 'every port of one IP is the same host');
  t.equal(upstream.chooseHost({ downstreamLocalAddress: '[fd00::7]:80' })?.address, '[fd00::7]:8080');

  t.throws(() => cluster({ upstream_port_override: 70000 }), /upstream_port_override/, 'a port is at most 65535');
  // The destination from a request header (x-envoy-original-dst-host) is not built: refused by name.
  t.throws(() => cluster({ use_http_header: true }), /original_dst_lb_config\.use_http_header: field 'use_http_header' of envoy\.config\.cluster\.v3\.Cluster\.OriginalDstLbConfig is not supported by Legate/);
  t.throws(() => translateCluster({ name: 'r', type: 'STATIC', original_dst_lb_config: { upstream_port_override: 1 } }), /original_dst_lb_config: original_dst_lb_config is for ORIGINAL_DST clusters/);
});

t.test('original_dst_lb_config.metadata_key: a dynamic metadata value overrides the destination', async (t) => {
  // istiod's connect_originate: a waypoint's address, when the endpoint names one, on HBONE's port.
  const { cluster: config } = translateCluster({ name: 'connect_originate', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED',
    original_dst_lb_config: { upstream_port_override: 15008, metadata_key: { key: 'envoy.filters.listener.original_dst', path: [{ key: 'waypoint' }] } } });
  t.same(config.originalDstMetadataKey, { key: 'envoy.filters.listener.original_dst', path: ['waypoint'] });
  t.throws(() => translateCluster({ name: 'o', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', original_dst_lb_config: { metadata_key: { key: 'k' } } }), /path/, 'a path is required, as in Envoy');
  const store = new Store();
  const upstream = new UpstreamCluster(config, store);
  t.teardown(() => upstream.close());
  const choose = (...sources: (object | undefined)[]) => upstream.chooseHost({ downstreamLocalAddress: '10.0.0.7:8080', metadata: { dynamicMetadata: () => sources as Record<string, unknown>[] } })?.address;
  const odst = (fields: object) => ({ 'envoy.filters.listener.original_dst': fields });
  t.equal(choose(undefined, odst({ local: '10.0.0.7:8080', waypoint: '10.0.0.9:15008' })), '10.0.0.9:15008', "the connection's metadata names the waypoint");
  t.equal(choose(undefined, odst({ local: '10.0.0.7:8080' })), '10.0.0.7:15008', 'no waypoint: the original destination, on the override port');
  t.equal(choose(), '10.0.0.7:15008', 'no metadata at all');
  t.equal(choose(odst({ waypoint: '10.0.0.10:1' }), odst({ waypoint: '10.0.0.9:1' })), '10.0.0.10:15008', "the request's metadata comes first");
  t.equal(choose(odst({ waypoint: 7 }), odst({ waypoint: '10.0.0.9:1' })), '10.0.0.9:15008', 'a source whose value is no string is passed over');
  t.equal(choose(undefined, odst({ waypoint: ['10.0.0.11:1', '10.0.0.12:1'] })), '10.0.0.11:15008', 'a list: its first value');
  t.equal(choose(undefined, odst({ waypoint: '[fd00::9]:1' })), '[fd00::9]:15008');
  t.equal(choose(undefined, odst({ waypoint: 'waypoint.example:15008' })), '10.0.0.7:15008', 'a string that is no address: the original destination');
  t.equal(store.counter('cluster.connect_originate.original_dst_host_invalid').value, 1, 'and it is counted');
  // Without metadata_key, metadata changes nothing.
  const plain = new UpstreamCluster(translateCluster({ name: 'p', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }).cluster, new Store());
  t.teardown(() => plain.close());
  t.equal(plain.chooseHost({ downstreamLocalAddress: '10.0.0.7:8080', metadata: { dynamicMetadata: () => [odst({ waypoint: '10.0.0.9:1' })] } })?.address, '10.0.0.7:8080');
});
