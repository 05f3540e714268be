// Outlier detection against Envoy's rules, on a fake clock: consecutive errors, enforcement,
// max_ejection_percent, ejection time and its back-off, success rate, and remote ejections.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { OutlierDetection } from '../../../proxy/config/model.ts';
import { Store } from '../../../proxy/stats/index.ts';
import { HEALTH_FLAG, Host } from '../../../proxy/upstream/host.ts';
import { OutlierDetector, type OutlierClock } from '../../../proxy/upstream/outlier.ts';
import { staticCluster } from '../../support/bootstrap.ts';

/** The model Envoy's defaults give for an outlier_detection block. */
function outlierConfig(raw: object): OutlierDetection {
  const boot = translateBootstrap({ static_resources: { clusters: [staticCluster('c', [{ port: 1 }], { outlier_detection: raw })] } });
  return boot.clusters[0].outlierDetection!;
}

class FakeClock implements OutlierClock {
  ms = 0;
  private fn: (() => void) | undefined;
  now = (): number => this.ms;
  every = (_ms: number, fn: () => void): (() => void) => {
    this.fn = fn;
    return () => (this.fn = undefined);
  };
  /** Moves time on and runs the interval sweep. */
  sweepAfter(ms: number): void {
    this.ms += ms;
    this.fn?.();
  }
}

function setup(raw: object, hostCount: number, random: () => number = () => 0) {
  const hosts = Array.from(
    { length: hostCount },
    (_, i) => new Host({ address: { address: '10.0.0.' + (i + 1), port: 80 }, hostname: '', healthStatus: 'HEALTHY', loadBalancingWeight: 1, healthCheckPort: 0 }, 0, 'r/z/s', 0),
  );
  const store = new Store();
  const clock = new FakeClock();
  const events: [string, boolean][] = [];
  let healthChanges = 0;
  const target = { hostByAddress: (a: string) => hosts.find((h) => h.address === a), healthChanged: () => healthChanges++ };
  const detector = new OutlierDetector(outlierConfig(raw), target, store, 'c', { clock, random, onEjection: (a, e) => events.push([a, e]) });
  detector.setHosts(hosts.map((h) => h.address));
  const stat = (name: string) => store.snapshot().counters[`cluster.c.outlier_detection.${name}`];
  const active = () => store.snapshot().gauges['cluster.c.outlier_detection.ejections_active'];
  const ejected = (i: number) => (hosts[i].healthFlags & HEALTH_FLAG.failedOutlierCheck) !== 0;
  return { hosts, detector, clock, events, stat, active, ejected, healthChanges: () => healthChanges };
}

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';

t.test('five consecutive 5xx eject the host; a success in between resets the count', async (t) => {
  const s = setup({ max_ejection_percent: 50 }, 2);
  for (let i = 0; i < 4; i++) s.detector.putHttpStatus(A, 500);
  s.detector.putHttpStatus(A, 200);
  for (let i = 0; i < 4; i++) s.detector.putHttpStatus(A, 500);
  t.notOk(s.ejected(0), 'four after a success are not enough');
  s.detector.putHttpStatus(A, 500);
  t.ok(s.ejected(0), 'the fifth in a row ejects');
  t.notOk(s.ejected(1));
  t.same(s.events, [[A, true]], 'one ejection event');
  t.equal(s.healthChanges(), 1, 'the cluster was told');
  t.equal(s.active(), 1);
  t.equal(s.stat('ejections_enforced_total'), 1);
  t.equal(s.stat('ejections_detected_consecutive_5xx'), 1);
  t.equal(s.stat('ejections_enforced_consecutive_5xx'), 1);
  t.equal(s.stat('ejections_consecutive_5xx'), 1);
  t.equal(s.stat('ejections_total'), 1);
  t.equal(s.stat('ejections_detected_consecutive_gateway_failure'), 0, '500 is not a gateway error');
});

t.test('gateway failures are detected but, by default (enforcing 0), not enforced', async (t) => {
  const s = setup({ max_ejection_percent: 50, consecutive_5xx: 100 }, 2, () => 0.5);
  for (let i = 0; i < 5; i++) s.detector.putHttpStatus(A, 503);
  t.notOk(s.ejected(0));
  t.equal(s.stat('ejections_detected_consecutive_gateway_failure'), 1);
  t.equal(s.stat('ejections_enforced_consecutive_gateway_failure'), 0);

  const e = setup({ max_ejection_percent: 50, consecutive_5xx: 100, enforcing_consecutive_gateway_failure: 100 }, 2, () => 0.5);
  for (let i = 0; i < 5; i++) e.detector.putHttpStatus(A, 502);
  t.ok(e.ejected(0), 'enforcing 100 ejects');
  t.equal(e.stat('ejections_enforced_consecutive_gateway_failure'), 1);
});

t.test('enforcing_consecutive_5xx is the chance of ejection', async (t) => {
  const s = setup({ max_ejection_percent: 50, enforcing_consecutive_5xx: 30 }, 2, () => 0.31);
  for (let i = 0; i < 5; i++) s.detector.putHttpStatus(A, 500);
  t.notOk(s.ejected(0), 'a roll of 31 % misses a 30 % chance');
  t.equal(s.stat('ejections_detected_consecutive_5xx'), 1);
  t.equal(s.stat('ejections_enforced_total'), 0);
});

t.test('max_ejection_percent counts the host about to be ejected', async (t) => {
  const s = setup({}, 2); // 10 %: one of two hosts would be 50 %
  for (let i = 0; i < 5; i++) s.detector.putHttpStatus(A, 500);
  t.notOk(s.ejected(0));
  t.equal(s.stat('ejections_overflow'), 1);

  const four = setup({ max_ejection_percent: 25 }, 4);
  for (let i = 0; i < 5; i++) four.detector.putHttpStatus(A, 500);
  for (let i = 0; i < 5; i++) four.detector.putHttpStatus(B, 500);
  t.ok(four.ejected(0), 'one of four is 25 %');
  t.notOk(four.ejected(1), 'two of four would be 50 %');
  t.equal(four.stat('ejections_overflow'), 1);
});

t.test('an ejected host returns at the first sweep after base_ejection_time x ejections', async (t) => {
  const s = setup({ max_ejection_percent: 50, interval: '1s', base_ejection_time: '3s' }, 2);
  const eject = () => {
    for (let i = 0; i < 5; i++) s.detector.putHttpStatus(A, 500);
  };
  eject();
  s.clock.sweepAfter(1000);
  s.clock.sweepAfter(1000);
  t.ok(s.ejected(0), 'still out after 2 s');
  s.clock.sweepAfter(1000);
  t.notOk(s.ejected(0), 'back after 3 s');
  t.same(s.events, [[A, true], [A, false]]);
  t.equal(s.active(), 0);

  eject(); // the second ejection in a row lasts twice as long
  s.clock.sweepAfter(3000);
  t.ok(s.ejected(0), 'still out after 3 s the second time');
  s.clock.sweepAfter(3000);
  t.notOk(s.ejected(0), 'back after 6 s');
  for (let i = 0; i < 4; i++) s.detector.putHttpStatus(A, 500);
  t.notOk(s.ejected(0), 'counters were reset on return');
});

t.test('the ejection time is capped by max_ejection_time and decays while the host is healthy', async (t) => {
  const s = setup({ max_ejection_percent: 50, interval: '1s', base_ejection_time: '2s', max_ejection_time: '3s' }, 2);
  const ejectAndTime = () => {
    for (let i = 0; i < 5; i++) s.detector.putHttpStatus(A, 500);
    let waited = 0;
    while (s.ejected(0) && waited < 60_000) {
      s.clock.sweepAfter(1000);
      waited += 1000;
    }
    return waited;
  };
  t.equal(ejectAndTime(), 2000);
  t.equal(ejectAndTime(), 3000, '2 x 2 s capped at 3 s');
  for (let i = 0; i < 10; i++) s.clock.sweepAfter(1000); // healthy for a while: the multiplier decays to 0
  t.equal(ejectAndTime(), 2000, 'back to the base time');
});

t.test('local-origin errors: 503 without split, their own counter with split', async (t) => {
  const merged = setup({ max_ejection_percent: 50 }, 2);
  for (let i = 0; i < 5; i++) merged.detector.putLocalOrigin(A, 'connect-failed');
  t.ok(merged.ejected(0), 'connect failures count as 5xx');
  t.equal(merged.stat('ejections_enforced_consecutive_5xx'), 1);

  const split = setup({ max_ejection_percent: 50, split_external_local_origin_errors: true, consecutive_local_origin_failure: 3 }, 2);
  split.detector.putLocalOrigin(A, 'timeout');
  split.detector.putLocalOrigin(A, 'connect-failed');
  split.detector.putLocalOrigin(A, 'connect-success');
  split.detector.putLocalOrigin(A, 'timeout');
  split.detector.putLocalOrigin(A, 'connect-failed');
  t.notOk(split.ejected(0), 'a connection success resets the count');
  split.detector.putLocalOrigin(A, 'connect-failed');
  t.ok(split.ejected(0), 'three in a row eject');
  t.equal(split.stat('ejections_enforced_consecutive_local_origin_failure'), 1);
  t.equal(split.stat('ejections_detected_consecutive_5xx'), 0, 'not counted as 5xx');
});

t.test('success rate: a host far below the others is ejected at the sweep', async (t) => {
  const s = setup({ max_ejection_percent: 50, consecutive_5xx: 1000, success_rate_request_volume: 20, interval: '1s' }, 5);
  for (let h = 0; h < 5; h++) {
    const address = s.hosts[h].address;
    for (let i = 0; i < 20; i++) s.detector.putHttpStatus(address, h === 2 && i % 2 === 0 ? 500 : 200);
  }
  t.notOk(s.ejected(2), 'judged only at the sweep');
  s.clock.sweepAfter(1000);
  t.ok(s.ejected(2), '50 % against 100 % is an outlier');
  t.equal([0, 1, 3, 4].filter((i) => s.ejected(i)).length, 0, 'the others stay');
  t.equal(s.stat('ejections_enforced_success_rate'), 1);
  t.equal(s.stat('ejections_detected_success_rate'), 1);
});

t.test('success rate needs success_rate_minimum_hosts hosts with enough volume', async (t) => {
  const s = setup({ max_ejection_percent: 50, consecutive_5xx: 1000, success_rate_request_volume: 20, interval: '1s' }, 5);
  for (let h = 0; h < 5; h++) {
    const address = s.hosts[h].address;
    const n = h === 4 ? 19 : 20; // one host short of the volume: four valid hosts < 5
    for (let i = 0; i < n; i++) s.detector.putHttpStatus(address, h === 2 && i % 2 === 0 ? 500 : 200);
  }
  s.clock.sweepAfter(1000);
  t.notOk(s.ejected(2));
});

t.test('remote ejections set the flag without stats, and lift on the remote unejection', async (t) => {
  const s = setup({ max_ejection_percent: 50, interval: '1s', base_ejection_time: '1s', max_ejection_time: '5s' }, 2);
  s.detector.applyRemote(A, true);
  t.ok(s.ejected(0));
  t.equal(s.active(), 0, 'counted where it was decided');
  t.same(s.events, [], 'not re-broadcast');
  for (let i = 0; i < 5; i++) s.detector.putHttpStatus(A, 500);
  t.equal(s.stat('ejections_detected_consecutive_5xx'), 0, 'an ejected host is not ejected again');
  s.clock.sweepAfter(2000);
  t.ok(s.ejected(0), 'this worker does not time it out before max_ejection_time');
  s.detector.applyRemote(A, false);
  t.notOk(s.ejected(0));

  s.detector.applyRemote(B, true);
  s.clock.sweepAfter(5000);
  t.notOk(s.ejected(1), 'a remote ejection never lifted lapses after max_ejection_time');
});

t.test('a removed host leaves the detector and its ejection with it', async (t) => {
  const s = setup({ max_ejection_percent: 50 }, 2);
  for (let i = 0; i < 5; i++) s.detector.putHttpStatus(A, 500);
  t.equal(s.active(), 1);
  s.detector.setHosts([B]);
  t.equal(s.active(), 0);
  s.detector.putHttpStatus(A, 500); // a late report for a removed host is ignored
  t.pass('no throw');
});
