// upstream.healthy_panic_threshold in the runtime overrides every cluster's healthy_panic_threshold
// when the priorities are computed, as in Envoy.
import t from 'tap';
import { runtime } from '../../../proxy/runtime/index.ts';
import { PrioritySet } from '../../../proxy/upstream/priority-set.ts';
import { TestHost } from '../../support/lb.ts';

function fortyPercentHealthy(): TestHost[] {
  return ['healthy', 'healthy', 'unhealthy', 'unhealthy', 'unhealthy'].map((status, i) => {
    const h = new TestHost(`h${i}:80`, 1, 0, 'r/z/s');
    h.status = status as 'healthy' | 'unhealthy';
    return h;
  });
}
const options = { overprovisioningFactor: 140, panicThresholdPercent: 50, localityWeighted: false };

t.teardown(() => runtime.configure([]));

t.test('the runtime key replaces the configured threshold', async (t) => {
  t.ok(new PrioritySet(fortyPercentHealthy(), options).levels[0]!.panic, 'configured 50 %: 40 % healthy panics');
  runtime.configure([{ name: 'static', kind: 'static', values: { 'upstream.healthy_panic_threshold': 30 } }]);
  t.notOk(new PrioritySet(fortyPercentHealthy(), options).levels[0]!.panic, 'runtime 30 %: no panic');
  runtime.configure([{ name: 'static', kind: 'static', values: { 'upstream.healthy_panic_threshold': 0 } }]);
  t.notOk(new PrioritySet(fortyPercentHealthy(), options).levels[0]!.panic, 'runtime 0: panic disabled');
  runtime.configure([{ name: 'static', kind: 'static', values: { 'upstream.healthy_panic_threshold': 80 } }]);
  t.ok(new PrioritySet(fortyPercentHealthy(), { ...options, panicThresholdPercent: 10 }).levels[0]!.panic, 'runtime 80 % over a configured 10 %');
});
