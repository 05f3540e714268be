// The mesh end to end, in namespaces this test creates on one closed L2 segment (a bridge in the
// "router" namespace; no route out of any of them):
//
//   router 10.240.0.1   Legate as ingress (127.0.0.1 listener) -> app A's container
//   a      10.240.0.2   app A + sidecar; its capture sends A's outbound calls to the sidecar, which
//                       knows app B's VIP 10.241.0.2:8080 (reachable only through that capture:
//                       nothing holds the address) as a cluster of B1 (weight 3) and B2 (weight 1)
//   b1     10.240.0.3   app B instance 1 + sidecar (a bootstrap without listeners: all defaults)
//   b2     10.240.0.4   app B instance 2 + sidecar
//   dead   10.240.0.5   an "instance" that drops every SYN to 8080: connects to it time out
//
// Sidecars run as root with --uid 1337 and the capture rules come from `legate iptables apply
// --proxy-uid 1337` in each container namespace. Apps answer {instance, peer}: peer 127.0.0.6 is
// the sidecar's inbound passthrough, so an answer proves it went through the app's sidecar.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { originalDstAvailable } from '../../proxy/listener/original-dst/index.ts';
import { adminStats, createBridge, getJson, joinBridge, startLegate } from '../support/mesh.ts';
import { createNetns, netnsSkipReason } from '../support/netns.ts';

const CLI = new URL('../../proxy/cli.ts', import.meta.url).pathname;
const PEER = new URL('../support/mesh-peer.ts', import.meta.url).pathname;
const PROXY_UID = '1337';
const VIP_B = '10.241.0.2'; // app B
const VIP_B_DEAD = '10.241.0.3'; // app B's instance 2 and the dead instance
const CONNECT_TIMEOUT_MS = 500;

interface CallResult {
  status: number;
  instance: string | null;
  peer: string | null;
  ms: number;
}

function hcm(statPrefix: string, virtualHosts: object[]): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: statPrefix,
      route_config: { name: statPrefix, virtual_hosts: virtualHosts },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    },
  };
}

function vhost(name: string, domains: string[], cluster: string): object {
  return { name, domains, routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '30s' } }] };
}

function staticCluster(name: string, connectTimeout: string, endpoints: [string, number][]): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: connectTimeout,
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: endpoints.map(([address, weight]) => ({ endpoint: { address: { socket_address: { address, port_value: 8080 } } }, load_balancing_weight: weight })) }],
    },
  };
}

/** A service listener: connections whose original destination is address:8080 are handed to it. */
function serviceListener(address: string, virtualHosts: object[]): object {
  return {
    name: `${address}_8080`,
    address: { socket_address: { address, port_value: 8080 } },
    bind_to_port: false,
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [hcm(`outbound_${address}_8080`, virtualHosts)] }],
  };
}

const ingressBootstrap = {
  node: { id: 'router' },
  static_resources: {
    listeners: [{ name: 'ingress', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [hcm('ingress', [vhost('app-a', ['*'], 'app-a')])] }] }],
    clusters: [staticCluster('app-a', '1s', [['10.240.0.2', 1]])],
  },
};

// App A's sidecar: its config knows B. The virtual listeners on 15001/15006 come from --mode sidecar.
const sidecarA = {
  node: { id: 'app-a' },
  static_resources: {
    listeners: [
      serviceListener(VIP_B, [vhost('app-b', ['*'], 'app-b')]),
      serviceListener(VIP_B_DEAD, [vhost('app-b-dead', ['*'], 'app-b-dead')]),
      // Any other destination on port 8080: by :authority, else through to where it was going.
      serviceListener('0.0.0.0', [vhost('app-b-by-name', ['app-b.internal'], 'app-b'), vhost('passthrough', ['*'], 'PassthroughCluster')]),
    ],
    clusters: [
      staticCluster('app-b', '1s', [['10.240.0.3', 3], ['10.240.0.4', 1]]),
      staticCluster('app-b-dead', `${CONNECT_TIMEOUT_MS / 1000}s`, [['10.240.0.4', 1], ['10.240.0.5', 1]]),
      { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' },
    ],
  },
};

const available = originalDstAvailable();
const curl = spawnSync('sh', ['-c', 'command -v curl']).status === 0;
const skip =
  netnsSkipReason(['iptables', 'iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save']) ||
  (curl ? false : 'needs curl (apt-get install curl)') ||
  (available.ok ? false : `original_dst unavailable: ${available.reason}`);

function count(results: CallResult[], instance: string): number {
  return results.filter((r) => r.instance === instance).length;
}

function delta(before: Map<string, number>, after: Map<string, number>, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

t.test('ingress -> sidecar -> app, and app -> VIP -> sidecar -> instances', { skip, timeout: 120_000 }, async (t) => {
  const [router, a, b1, b2, dead] = await Promise.all([createNetns(t), createNetns(t), createNetns(t), createNetns(t), createNetns(t)]);
  await createBridge(router, '10.240.0.1/24');
  await Promise.all([
    joinBridge(router, a, 'v-a', '10.240.0.2/24'),
    joinBridge(router, b1, 'v-b1', '10.240.0.3/24'),
    joinBridge(router, b2, 'v-b2', '10.240.0.4/24'),
    joinBridge(router, dead, 'v-dead', '10.240.0.5/24'),
  ]);
  // The VIP range is on-link for A, so the app can dial it: only A's capture ever answers.
  await a.exec('ip', ['route', 'add', '10.241.0.0/24', 'dev', 'eth0']);
  await dead.exec('iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '8080', '-j', 'DROP']);

  const sidecar = ['--mode', 'sidecar', '--uid', PROXY_UID];
  const [ingress, sidecarLogA] = await Promise.all([
    startLegate(t, router, ingressBootstrap, []),
    startLegate(t, a, sidecarA, sidecar),
    startLegate(t, b1, { node: { id: 'b1' } }, sidecar),
    startLegate(t, b2, { node: { id: 'b2' } }, sidecar),
    ...[a, b1, b2].map((ns) => ns.node(CLI, ['iptables', 'apply', '--proxy-uid', PROXY_UID])),
    a.start(PEER, ['app', 'a', '8080']),
    b1.start(PEER, ['app', 'b1', '8080,9090']),
    b2.start(PEER, ['app', 'b2', '8080']),
  ]);
  t.match(sidecarLogA.log.join('\n'), /serving with 1 worker \(sidecar mode, as uid 1337 gid 1337\)/, 'the sidecar dropped root after binding');
  const ingressUrl = (path: string) => `http://127.0.0.1:${ingress.port('ingress')}${path}`;
  const callFromA = (query: string) => getJson<CallResult[]>(router, ingressUrl(`/call?${query}`));

  await t.test('ingress -> app A passes through A\'s sidecar', async (t) => {
    const answer = await getJson<{ instance: string; peer: string }>(router, ingressUrl('/hello'));
    t.strictSame(answer, { instance: 'a', peer: '127.0.0.6' }, 'A answers a connection its sidecar made');
    const stats = await adminStats(a);
    t.ok((stats.get('tcp.InboundPassthroughClusterIpv4.downstream_cx_total') ?? 0) >= 1, 'virtualInbound took the connection');
    t.ok((stats.get('cluster.InboundPassthroughClusterIpv4.upstream_cx_total') ?? 0) >= 1, 'and passed it to the app');
  });

  await t.test("A -> B's VIP is spread over B's instances by weight", async (t) => {
    const results = await callFromA(`url=http://${VIP_B}:8080/&n=16`);
    t.strictSame(results.map((r) => r.status), Array(16).fill(200), 'every call answered');
    t.ok(results.every((r) => r.peer === '127.0.0.6'), "each through the instance's own sidecar");
    const [n1, n2] = [count(results, 'b1'), count(results, 'b2')];
    t.equal(n1 + n2, 16, 'only B instances answer');
    t.ok(n2 >= 2 && n1 >= 2 * n2, `weights 3:1 give B1 most calls (B1 ${n1}, B2 ${n2})`);
    const stats = await adminStats(a);
    t.ok((stats.get(`listener.${VIP_B}_8080.downstream_cx_total`) ?? 0) >= 1, "virtualOutbound handed the VIP's connection to its listener");
    t.ok((stats.get('cluster.app-b.upstream_rq_total') ?? 0) >= 16, 'the app-b cluster carried the calls');
    t.ok(((await adminStats(b1)).get('cluster.InboundPassthroughClusterIpv4.upstream_cx_total') ?? 0) >= 1, "B1's sidecar counts them");
  });

  await t.test('by :authority, and passthrough for HTTP and TCP', async (t) => {
    const before = await adminStats(a);
    const byName = await callFromA('url=http://10.241.0.9:8080/&host=app-b.internal&n=4');
    t.ok(byName.every((r) => r.status === 200 && (r.instance === 'b1' || r.instance === 'b2')), 'Host app-b.internal on a VIP without a listener routes to app-b');
    const direct = await callFromA('url=http://10.240.0.4:8080/&n=2');
    t.strictSame(direct.map((r) => [r.status, r.instance]), [[200, 'b2'], [200, 'b2']], 'an HTTP call to an instance address goes to that address (ORIGINAL_DST)');
    const tcp = await callFromA('url=http://10.240.0.3:9090/&n=1');
    t.strictSame(tcp.map((r) => [r.status, r.instance, r.peer]), [[200, 'b1', '127.0.0.6']], 'a port no listener knows passes through as TCP');
    const after = await adminStats(a);
    t.ok(delta(before, after, 'cluster.app-b.upstream_rq_total') >= 4, 'the by-name calls went through app-b');
    t.ok(delta(before, after, 'cluster.PassthroughCluster.upstream_rq_total') >= 2, 'the direct HTTP calls went through PassthroughCluster');
    t.ok(delta(before, after, 'tcp.PassthroughCluster.downstream_cx_total') >= 1, 'the TCP connection went through the passthrough chain');
  });

  await t.test('a 500 from an instance is retried and the client gets the good answer', async (t) => {
    const before = await adminStats(a);
    const results = await callFromA(`url=http://${VIP_B}:8080/&n=4&fail=b1`);
    t.strictSame(results.map((r) => [r.status, r.instance]), Array(4).fill([200, 'b2']), 'B1 answers 500 and every call ends on B2');
    const after = await adminStats(a);
    t.ok(delta(before, after, 'cluster.app-b.upstream_rq_retry') >= 1, 'the sidecar retried (sidecar mode: retry_on 5xx, 3 retries)');
  });

  await t.test('an instance that accepts no connection costs at most connect_timeout', async (t) => {
    const before = await adminStats(a);
    const results = await callFromA(`url=http://${VIP_B_DEAD}:8080/&n=4`);
    t.strictSame(results.map((r) => [r.status, r.instance]), Array(4).fill([200, 'b2']), 'every call ends on the live instance');
    const slowest = Math.max(...results.map((r) => r.ms));
    // connect_timeout, then a retry back-off of at most 25 ms, then the live instance.
    t.ok(slowest < CONNECT_TIMEOUT_MS + 400, `the slowest call took ${slowest} ms`);
    const after = await adminStats(a);
    t.ok(delta(before, after, 'cluster.app-b-dead.upstream_cx_connect_timeout') >= 1, 'the dead instance was tried and timed out');
  });
});
