// A short soak in CI: 20 s of the soak run's mixed traffic (keep-alive and new connections, 1 MiB
// bodies both ways, retried 503s, websockets) with an xDS push every 3 s against
// `legate run --workers 2` on ADS. Every request gets its real answer and Legate is alive at the
// end; memory is sampled but its slope is not judged (20 s is all warm-up): `npm run soak` does.
import t from 'tap';
import { runSoak, soakSummary } from '../../bench/reliability/soak.ts';
import { redisMissing } from '../support/redis.ts';

const missing = redisMissing();
if (missing !== undefined) {
  t.plan(0, `skipped: ${missing}`);
} else {
  t.test('20 s of mixed traffic with config churn: nothing lost, Legate alive', async (t) => {
    const result = await runSoak({ seconds: 20, rate: 60, sampleSeconds: 2, churnSeconds: 3, maxSlopeMbPerHour: Infinity, log: () => {} });
    t.comment(soakSummary(result));
    t.equal(result.failed, 0, 'no failed request');
    t.same(result.failures, []);
    t.ok(result.alive, 'Legate is alive');
    t.equal(result.workerRestarts, 0, 'no worker restarted');
    t.same(result.pushErrors, [], 'every xDS push ACKed');
    t.ok(result.pushes >= 5, `config churn ran (${result.pushes} pushes)`);
    t.ok(result.sent > 600, `traffic ran (${result.sent} requests)`);
    for (const kind of ['get', 'newconn', 'retry', 'get1m', 'post1m', 'ws']) {
      t.ok(Object.keys(result.byKind[kind] ?? {}).length > 0, `${kind} requests were sent`);
    }
    t.ok(result.samples.length >= 8, `memory sampled (${result.samples.length} samples)`);
    t.ok(result.samples.every((s) => s.workers.length === 2 && s.workers.every((w) => w.rssMb > 0 && w.heapMb > 0)), 'RSS and heap of both workers in every sample');
  });
}
