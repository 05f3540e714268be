// Istio's peer metadata from W3C baggage, as istio/proxy's fromBaggage reads it.
import t from 'tap';
import { workloadFromBaggage } from '../../../proxy/istio/baggage.ts';

t.test('Istio\'s keys name the peer; other members are skipped', async (t) => {
  t.same(workloadFromBaggage('k8s.cluster.name=c1,k8s.namespace.name=ns,k8s.deployment.name=cart-v2,service.name=cart,service.version=v2,app.name=cart,app.version=v2,other=x'), {
    instance: '', cluster: 'c1', namespace: 'ns', workload: 'cart-v2', canonicalName: 'cart', canonicalRevision: 'v2',
    app: 'cart', version: 'v2', workloadType: 'deployment', labels: [], identity: '',
  });
});

t.test('a pod or job names the instance too; the type is pod unless a key says otherwise', async (t) => {
  t.match(workloadFromBaggage('k8s.pod.name=cart-abc'), { instance: 'cart-abc', workload: 'cart-abc', workloadType: 'pod' });
  t.match(workloadFromBaggage('k8s.job.name=batch'), { instance: 'batch', workload: 'batch', workloadType: 'job' });
  t.match(workloadFromBaggage('k8s.cronjob.name=nightly'), { instance: '', workload: 'nightly', workloadType: 'cronjob' });
  t.match(workloadFromBaggage(''), { workload: '', namespace: '', workloadType: 'pod' });
});

t.test('a value is what follows the first "=" up to the next; no trimming', async (t) => {
  t.match(workloadFromBaggage('app.name=a=b, k8s.namespace.name=ns'), { app: 'a', namespace: '' });
  t.match(workloadFromBaggage('app.version'), { version: '' });
});
