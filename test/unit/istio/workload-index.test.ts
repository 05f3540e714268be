// Istio's workload discovery index: workloads by address, updated incrementally (a workload
// replaced, removed by uid, the whole set reset), looked up by the addresses Node reports (IPv4,
// IPv4-mapped on a dual-stack socket, IPv6 in any spelling); and the address an upstream host is
// looked up by (its IP, or an internal host's original destination; none through another
// network's gateway).
import t from 'tap';
import { translateWorkload } from '../../../proxy/config/index.ts';
import { upstreamWorkloadAddress, WorkloadIndex } from '../../../proxy/istio/workload-index.ts';

const bytes = (...b: number[]) => Buffer.from(b).toString('base64');
const workload = (uid: string, addresses: string[], version = 'v1') =>
  ({ ...translateWorkload({ uid, addresses, workload_name: uid, canonical_name: uid, canonical_revision: version }), uid });

t.test('updates: added, replaced, removed by uid, reset', async (t) => {
  const index = new WorkloadIndex();
  t.equal(index.lookup('10.0.0.1'), undefined, 'empty');
  index.apply({ reset: false, workloads: [workload('a', [bytes(10, 0, 0, 1), bytes(10, 0, 0, 2)]), workload('b', [bytes(10, 0, 0, 3)])], removed: [] });
  t.equal(index.size, 3, 'every address of every workload');
  t.equal(index.lookup('10.0.0.2')?.workload, 'a');
  t.equal(index.lookup('::ffff:10.0.0.3')?.workload, 'b', "an IPv4 client of a dual-stack socket is found by its IPv4 address");

  index.apply({ reset: false, workloads: [workload('a', [bytes(10, 0, 0, 1)], 'v2')], removed: [] });
  t.equal(index.lookup('10.0.0.1')?.version, 'v2', 'a workload pushed again replaces the old one');
  t.equal(index.lookup('10.0.0.2'), undefined, 'an address it no longer has is gone');

  // b's address goes to c: removing b later must not take it from c.
  index.apply({ reset: false, workloads: [workload('c', [bytes(10, 0, 0, 3)])], removed: [] });
  index.apply({ reset: false, workloads: [], removed: ['b', 'unknown'] });
  t.equal(index.lookup('10.0.0.3')?.workload, 'c', 'an address another workload took stays with it');
  index.apply({ reset: false, workloads: [], removed: ['a'] });
  t.equal(index.lookup('10.0.0.1'), undefined, 'removed by uid');
  t.same([...index.workloads()].map((w) => w.uid), ['c']);

  index.apply({ reset: true, workloads: [workload('d', [bytes(10, 0, 0, 4)])], removed: [] });
  t.same([index.size, index.lookup('10.0.0.3'), index.lookup('10.0.0.4')?.workload], [1, undefined, 'd'], 'a reset replaces everything');
});

t.test('IPv6 addresses are found however they are written', async (t) => {
  const index = new WorkloadIndex();
  const v6 = [0xfd, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];
  index.apply({ reset: false, workloads: [workload('v6', [bytes(...v6)])], removed: [] });
  t.same([...index.workloads()][0].addresses, ['fd00:10::5'], 'stored as Node writes socket addresses');
  t.equal(index.lookup('fd00:10::5')?.workload, 'v6');
  t.equal(index.lookup('FD00:0010:0:0:0:0:0:5')?.workload, 'v6', 'an endpoint written otherwise');
  t.equal(index.lookup('not:an:address::x'), undefined);
});

t.test('the address of an upstream host', async (t) => {
  t.equal(upstreamWorkloadAddress('10.0.0.5:8080', undefined), '10.0.0.5');
  t.equal(upstreamWorkloadAddress('[fd00::5]:8080', undefined), 'fd00::5');
  const tunnelled = { 'envoy.filters.listener.original_dst': { local: '10.0.0.6:9080' }, istio: { workload: 'reviews-v1' } };
  t.equal(upstreamWorkloadAddress('envoy://connect_originate/10.0.0.6:9080', tunnelled), '10.0.0.6', "a waypoint's connect_originate: the original destination");
  t.equal(upstreamWorkloadAddress('envoy://connect_originate/x', { ...tunnelled, istio: { double_hbone: {} } }), undefined, "another network's gateway is not the workload");
  t.equal(upstreamWorkloadAddress('envoy://main_internal/', undefined), undefined, 'an internal host without a destination');
});
