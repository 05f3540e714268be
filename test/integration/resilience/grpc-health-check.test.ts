// gRPC active health checks end to end: Legate's primary checks two grpc-js servers with
// grpc.health.v1.Health/Check over HTTP/2; a host answering NOT_SERVING gets no gRPC calls through
// Legate, and gets them again once it has passed healthy_threshold checks.
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startGrpcHealthServer } from '../../support/grpc-health-server.ts';
import { startLegate } from '../../support/legate.ts';

const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const whoami: grpc.ServiceDefinition = {
  Name: { path: '/test.Whoami/Name', requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
};

/** A grpc-js server answering health checks for 'app' and Whoami/Name with its name. */
async function host(name: string) {
  const served = { calls: 0 };
  const server = await startGrpcHealthServer(t, { app: 'SERVING' }, (s) =>
    s.addService(whoami, {
      Name: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        served.calls++;
        cb(null, Buffer.from(name));
      },
    }),
  );
  return { server, served, address: `127.0.0.1:${server.port}` };
}

const a = await host('a');
const b = await host('b');

const cluster = staticCluster('grpc', [{ port: a.server.port }, { port: b.server.port }], {
  typed_extension_protocol_options: { [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } },
  health_checks: [{ timeout: '1s', interval: '0.05s', unhealthy_threshold: 2, healthy_threshold: 3, grpc_health_check: { service_name: 'app' } }],
});
const legate = await startLegate(bootstrap([httpListener('grpc', routes([{ match: { prefix: '/' }, route: { cluster: 'grpc' } }]), { codec_type: 'AUTO' })], [cluster]));
t.teardown(() => legate.stop());

const Client = grpc.makeGenericClientConstructor(whoami, 'Whoami');
const client = new Client(`127.0.0.1:${legate.port()}`, grpc.credentials.createInsecure()) as unknown as Record<string, (...args: unknown[]) => unknown> & grpc.Client;
t.teardown(() => client.close());

const name = () => new Promise<string>((resolve, reject) => client.Name(Buffer.from(''), (err: Error | null, res: Buffer) => (err ? reject(err) : resolve(res.toString()))));

async function flags(address: string): Promise<string> {
  const svc = (await legate.primary.clusters()).find((c) => c.name === 'grpc')!;
  return svc.hosts.find((h) => h.address === address)!.healthFlags;
}

/** Waits (polling /clusters with a deadline) until the primary's checks moved `address` to `failed`. */
async function healthOf(address: string, failed: boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (((await flags(address)) === '/failed_active_hc') !== failed) {
    if (Date.now() > deadline) throw new Error(`${address} never became ${failed ? 'failed' : 'healthy'}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('both SERVING: both hosts healthy and serving', async (t) => {
  await healthOf(a.address, false);
  await healthOf(b.address, false);
  const names = new Set<string>();
  for (let i = 0; i < 10; i++) names.add(await name());
  t.same([...names].sort(), ['a', 'b']);
  t.equal(a.server.calls[0].authority, 'grpc', 'the cluster name as :authority');
});

t.test('NOT_SERVING: the host is marked unhealthy and calls move to the other', async (t) => {
  b.server.statuses.set('app', 'NOT_SERVING');
  await healthOf(b.address, true);
  const before = b.served.calls;
  for (let i = 0; i < 10; i++) t.equal(await name(), 'a');
  t.equal(b.served.calls, before, 'no call reached b');
  const stats = await legate.primary.stats();
  t.equal(stats.gauges.get('cluster.grpc.health_check.healthy'), 1);
  t.ok((stats.counters.get('cluster.grpc.health_check.failure') ?? 0) >= 1);
});

t.test('SERVING again: back after healthy_threshold checks', async (t) => {
  const checksBefore = b.server.calls.length;
  b.server.statuses.set('app', 'SERVING');
  await healthOf(b.address, false);
  t.ok(b.server.calls.length - checksBefore >= 3, 'three passing checks first');
  const before = b.served.calls;
  for (let i = 0; i < 10; i++) await name();
  t.ok(b.served.calls > before, 'b serves again');
});

t.test('a server gone: unhealthy, its checks network failures; the other serves', async (t) => {
  a.server.stop();
  // A check in flight at shutdown may get an answer (grpc-status UNAVAILABLE) rather than a reset.
  await healthOf(a.address, true);
  for (let i = 0; i < 5; i++) t.equal(await name(), 'b');
  const networkFailures = async () => (await legate.primary.stats()).counters.get('cluster.grpc.health_check.network_failure') ?? 0;
  const deadline = Date.now() + 5000;
  while ((await networkFailures()) < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok((await networkFailures()) >= 2, 'connections refused');
});
