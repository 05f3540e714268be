// How long a push takes to reach traffic: from setResources on the management server to the
// first response that shows it (a route's response header for RDS, the upstream's name for EDS),
// over 50 pushes each. Prints the median and spread; asserts only that every push arrived.
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { Agent, request } from 'undici';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { adsBootstrap, ENDPOINT_TYPE_URL, loadAssignment, ROUTE_TYPE_URL, setConfig, startManagementServer, taggedConfig } from '../../support/xds-proxy.ts';

const PUSHES = 50;

function summary(samples: number[]): string {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(2);
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, min ${at(0)} ms, max ${at(1)} ms (${samples.length} pushes)`;
}

for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
  t.test(`${apiType}: push-to-traffic propagation`, async (t) => {
    const server = await startManagementServer(t);
    const a = await startUpstreamFor(t, 'a');
    const b = await startUpstreamFor(t, 'b');
    setConfig(server, { clusters: { backend: [a.port] }, routes: [taggedConfig('r0')], versions: { endpoints: 'e0', routes: 'r0' } });
    const legate = await startLegate(adsBootstrap(server.port, { apiType }));
    t.teardown(() => legate.stop());
    const dispatcher = new Agent({ connections: 1 });
    t.teardown(() => dispatcher.close());
    const url = legate.url('/', 'http');

    // Requests back to back on one kept-alive connection until `seen` holds (bounded by a deadline).
    const timeToSee = async (push: () => void, seen: (headers: Record<string, unknown>, body: string) => boolean): Promise<number> => {
      const start = performance.now();
      push();
      const deadline = start + 10_000;
      while (performance.now() < deadline) {
        const res = await request(url, { dispatcher });
        const body = await res.body.text();
        if (seen(res.headers, body)) return performance.now() - start;
      }
      throw new Error('the push did not reach traffic within 10 s');
    };

    const rds: number[] = [];
    for (let i = 1; i <= PUSHES; i++) {
      const tag = `r${i}`;
      rds.push(await timeToSee(
        () => server.setResources(ROUTE_TYPE_URL, tag, [taggedConfig(tag)]),
        (headers) => headers['x-route'] === tag,
      ));
    }
    const eds: number[] = [];
    for (let i = 1; i <= PUSHES; i++) {
      const target = i % 2 === 1 ? b : a;
      eds.push(await timeToSee(
        () => server.setResources(ENDPOINT_TYPE_URL, `e${i}`, [loadAssignment('backend', [target.port])]),
        (_headers, body) => body.includes(`"upstream":"${target.name}"`),
      ));
    }
    t.equal(rds.length + eds.length, 2 * PUSHES, 'every push reached traffic');
    t.comment(`${apiType} RDS push -> first routed response: ${summary(rds)}`);
    t.comment(`${apiType} EDS push -> first response from the new host: ${summary(eds)}`);
  });
}
