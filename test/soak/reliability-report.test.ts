// The chaos and soak runs' arithmetic: which fault a request is charged to, what the verdict
// allows (only the in-flight request of each connection a killed worker cut), and the memory slope.
import t from 'tap';
import { attribute, judge, NO_FAULT, type FaultWindow } from '../../bench/reliability/chaos-report.ts';
import { floors, leastSquares, slopeVerdict, type MemorySample } from '../../bench/reliability/soak-report.ts';
import type { LoggedRequest } from '../../bench/reliability/access-log.ts';
import type { Outcome } from '../../bench/reliability/traffic.ts';

const windows: FaultWindow[] = [
  { name: 'worker-kill', start: 1000, end: 2000, note: '' },
  { name: 'redis-outage', start: 5000, end: 6000, note: '' },
];
let n = 0;
const outcome = (sentAt: number, endAt: number, extra: Partial<Outcome> = {}): Outcome => ({ id: `r${++n}`, target: 'ads', kind: 'get', loop: 0, sentAt, endAt, status: 200, ...extra });

t.test('a request is charged to the fault active when it ended, else when it was sent', async (t) => {
  t.equal(attribute(outcome(100, 200), windows), NO_FAULT);
  t.equal(attribute(outcome(1500, 1600), windows), 'worker-kill');
  t.equal(attribute(outcome(2500, 2900), windows), 'worker-kill', 'within the grace after the end');
  t.equal(attribute(outcome(1900, 5100), windows), 'redis-outage', 'the end wins');
  t.equal(attribute(outcome(900, 4200), windows), NO_FAULT);
  t.equal(attribute(outcome(1900, 4200), windows), 'worker-kill', 'sent in a window, ended outside any');
});

t.test('the verdict: cut connections of a killed worker only, one request each', async (t) => {
  const reset = (loop: number, at = 1500) => outcome(at, at + 5, { loop, status: 0, error: 'ECONNRESET' });
  const ok = judge([outcome(100, 200), reset(1), reset(2)], windows, new Map());
  t.ok(ok.pass, ok.reasons.join('; '));
  t.same(ok.rows.find((r) => r.fault === 'worker-kill')?.connectionErrors, { ECONNRESET: 2 });

  const twice = judge([reset(1), reset(1, 1600)], windows, new Map());
  t.notOk(twice.pass);
  t.match(twice.reasons[0], /2 failures on one connection/);

  const logged = new Map<string, LoggedRequest>();
  const failed = outcome(5500, 5510, { status: 503 });
  logged.set(failed.id, { id: failed.id, code: 503, flags: 'UF,UO', details: 'x', upstream: '-', attempts: 1 });
  const redis = judge([failed], windows, logged);
  t.notOk(redis.pass);
  t.same(redis.rows.find((r) => r.fault === 'redis-outage')?.nonOk, { '503 UF,UO': 1 });
  t.same(redis.reasons, ['redis-outage: 1 failed request']);
});

const sample = (minutes: number, workerMb: number): MemorySample => ({
  minutes,
  primaryRssMb: 100,
  workers: [{ pid: 1, rssMb: workerMb, heapMb: 10, heapTotalMb: 20, externalMb: 1, loopP99Ms: 1, loopMaxMs: 2 }],
  otherRssMb: 50,
  requests: 0,
  failed: 0,
});

t.test('the memory slope is fitted after warm-up, in MB per hour', async (t) => {
  t.same(leastSquares([[0, 1], [1, 3], [2, 5]]), { slope: 2, intercept: 1 });
  // Warm-up growth in the first third, then 0.5 MB per minute (30 MB/h). Too few samples for
  // stretches: the floors are the samples.
  const samples = [sample(0, 50), sample(1, 80), sample(2, 100), sample(3, 100.5), sample(4, 101), sample(5, 101.5), sample(6, 102), sample(7, 102.5), sample(8, 103)];
  const verdict = slopeVerdict(samples, 20);
  t.equal(verdict.samplesUsed, 6);
  t.equal(Math.round(verdict.totalMbPerHour), 30);
  t.equal(Math.round(verdict.floorTotalMbPerHour), 30);
  t.notOk(verdict.flat);
  t.ok(slopeVerdict(samples, 40).flat);
});

t.test('floors: the lowest value in each stretch of time, at its middle', async (t) => {
  t.same(floors([[0, 5], [1, 3], [2, 9], [3, 4], [4, 8], [5.9, 6]], 0, 6, 3), [[1, 3], [3, 4], [5, 6]]);
  t.same(floors([[0, 5], [5, 7]], 0, 6, 3), [[1, 5], [5, 7]], 'a stretch without a sample is left out');
});

// Samples every 10 s for `minutes`: a floor that rises `leakMbPerHour`, and between trims (every
// 60 s here) freed memory piling up to 60 MB above it, sampled at a phase that drifts.
function sawtooth(minutes: number, leakMbPerHour: number): MemorySample[] {
  const out: MemorySample[] = [];
  for (let i = 0; i <= minutes * 6; i++) {
    const m = i / 6;
    const phase = (i * 7) % 11 / 11; // where between two trims the sample lands
    out.push(sample(m, 110 + (leakMbPerHour * m) / 60 + 60 * phase));
  }
  return out;
}

t.test('the verdict reads the floors: a sawtooth over a level floor is flat, over a rising one is growing', async (t) => {
  const level = slopeVerdict(sawtooth(30, 0), 20);
  t.ok(level.flat, `floor ${level.floorTotalMbPerHour.toFixed(1)} MB/h`);
  t.ok(Math.abs(level.floorTotalMbPerHour) < 5);
  t.equal(level.floorTotal.length, 6);
  t.ok(Math.abs(level.floorWindowMinutes - 20 / 6) < 0.1);
  const leaking = slopeVerdict(sawtooth(30, 40), 20);
  t.notOk(leaking.flat, `floor ${leaking.floorTotalMbPerHour.toFixed(1)} MB/h`);
  t.ok(Math.abs(leaking.floorTotalMbPerHour - 40) < 8);
  t.ok(Math.abs(leaking.floorWorkersMbPerHour[0] - 40) < 8);
});
