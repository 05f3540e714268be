// Triggers, action states and scaled timers: pure parts of the overload manager.
import t from 'tap';
import { OverloadAction, ScaledTrigger, ThresholdTrigger, TimerScaler, workerShare, makeTrigger, GlobalConnectionLimit } from '../../../proxy/overload/index.ts';
import { Store } from '../../../proxy/stats/index.ts';

t.test('threshold trigger: all or nothing at the value', async (t) => {
  const trigger = new ThresholdTrigger('m', 0.8);
  t.equal(trigger.scale(0.79), 0);
  t.equal(trigger.scale(0.8), 1);
  t.equal(trigger.scale(1.5), 1);
});

t.test('scaled trigger: linear between scaling and saturation', async (t) => {
  const trigger = new ScaledTrigger('m', 0.5, 0.9);
  t.equal(trigger.scale(0.4), 0);
  t.equal(trigger.scale(0.5), 0);
  t.ok(Math.abs(trigger.scale(0.7) - 0.5) < 1e-9);
  t.ok(Math.abs(trigger.scale(0.8) - 0.75) < 1e-9);
  t.equal(trigger.scale(0.9), 1);
  t.equal(trigger.scale(2), 1);
  t.type(makeTrigger({ monitor: 'm', kind: 'scaled', scalingThreshold: 0.1, saturationThreshold: 0.2 }), ScaledTrigger);
});

t.test('an action takes the largest of its triggers and publishes active and scale_percent', async (t) => {
  const store = new Store();
  const action = new OverloadAction('envoy.overload_actions.x', [new ThresholdTrigger('heap', 0.95), new ScaledTrigger('cx', 0.5, 1)], store);
  const gauges = () => [store.gauge('overload.envoy.overload_actions.x.active').value, store.gauge('overload.envoy.overload_actions.x.scale_percent').value];
  t.equal(action.update(new Map([['heap', 0.5], ['cx', 0.75]])), true);
  t.equal(action.scale, 0.5);
  t.same(gauges(), [0, 50]);
  t.equal(action.shed(0.49), true, 'a scaled action sheds a share');
  t.equal(action.shed(0.5), false);
  t.equal(action.update(new Map([['heap', 0.96], ['cx', 0.75]])), true);
  t.same(gauges(), [1, 100]);
  t.equal(action.saturated, true);
  t.equal(action.shed(0.999), true);
  t.equal(action.update(new Map([['heap', 0.96], ['cx', 0.1]])), false, 'no change, no notice');
  action.update(new Map([['heap', 0], ['cx', 0]]));
  t.same(gauges(), [0, 0]);
  t.equal(action.shed(0), false, 'an idle action never sheds');
});

t.test('reduce_timeouts: between the floor and the configured timeout by scale', async (t) => {
  const action = new OverloadAction('r', [new ScaledTrigger('m', 0, 1)]);
  const scaler = new TimerScaler(action, [{ timer: 'HTTP_DOWNSTREAM_CONNECTION_IDLE', minTimeoutMs: 1000 }]);
  t.equal(scaler.scaled('HTTP_DOWNSTREAM_CONNECTION_IDLE', 10_000), 10_000, 'unpressed: as configured');
  action.update(new Map([['m', 0.5]]));
  t.equal(scaler.scaled('HTTP_DOWNSTREAM_CONNECTION_IDLE', 10_000), 5500);
  action.update(new Map([['m', 1]]));
  t.equal(scaler.scaled('HTTP_DOWNSTREAM_CONNECTION_IDLE', 10_000), 1000, 'saturated: the floor');
  t.equal(scaler.scaled('HTTP_DOWNSTREAM_CONNECTION_IDLE', 500), 500, 'a floor above the timeout leaves it');
  t.equal(scaler.scaled('HTTP_DOWNSTREAM_CONNECTION_IDLE', 0), 0, 'no timeout stays none');
  const byScale = new TimerScaler(action, [{ timer: 'HTTP_DOWNSTREAM_CONNECTION_IDLE', minScalePercent: 20 }]);
  t.equal(byScale.scaled('HTTP_DOWNSTREAM_CONNECTION_IDLE', 10_000), 2000, 'min_scale: a share of the timeout');
});

t.test('the global connection limit: shares per worker, acquire and release', async (t) => {
  t.equal(workerShare(10, 1), 10);
  t.equal(workerShare(10, 3), 3, 'rounded down: never more than the limit in all');
  t.equal(workerShare(1, 4), 1, 'at least one');
  t.equal(workerShare(Infinity, 4), Infinity);
  const limit = new GlobalConnectionLimit(() => 2);
  t.ok(limit.tryAcquire());
  t.ok(limit.tryAcquire());
  t.notOk(limit.tryAcquire());
  t.equal(limit.pressure(), 1);
  limit.release();
  t.equal(limit.pressure(), 0.5);
  t.ok(limit.tryAcquire());
});
