// path_config_source: LDS and CDS from watched files (and the RDS and EDS files their listeners and
// clusters name), each replaced by rename; a bad file keeps the last good config.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import type { JsonObject } from '../../../xds-client/index.ts';
import { bootstrap, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { dynamicDump, edsCluster, hit, loadAssignment, rdsListener, routeConfig, taggedRoute } from '../../support/xds-proxy.ts';

t.test('LDS, CDS, RDS and EDS from files, reloaded on rename; a bad file keeps the last good set', async (t) => {
  const a = await startUpstreamFor(t, 'a');
  const b = await startUpstreamFor(t, 'b');
  const dir = await mkdtemp(path.join(tmpdir(), 'legate-xds-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = (name: string) => path.join(dir, name);
  let n = 0;
  // Written beside the target, then renamed over it: the atomic replace Envoy documents.
  const replace = async (name: string, text: string) => {
    const temporary = file(`.${name}.${++n}`);
    await writeFile(temporary, text);
    await rename(temporary, file(name));
  };
  const response = (version: string, resources: JsonObject[]) => stringify({ version_info: version, resources });

  await writeFile(file('lds.yaml'), response('l1', [rdsListener('http', 'local_route', { rdsPath: file('rds.yaml') })]));
  await writeFile(file('rds.yaml'), response('r1', [routeConfig('local_route', 'backend', [taggedRoute('/', 'backend', 'r1')])]));
  await writeFile(file('cds.yaml'), response('c1', [edsCluster('backend', { edsPath: file('eds.yaml') })]));
  await writeFile(file('eds.yaml'), response('e1', [loadAssignment('backend', [a.port])]));
  const legate = await startLegate(bootstrap([], [], {
    dynamic_resources: {
      lds_config: { path_config_source: { path: file('lds.yaml') }, resource_api_version: 'V3' },
      cds_config: { path_config_source: { path: file('cds.yaml') }, resource_api_version: 'V3' },
    },
  }));
  t.teardown(() => legate.stop());
  const first = await hit(legate.url('/', 'http'));
  t.equal(first.upstream, 'a');
  t.equal(first.headers['x-route'], 'r1');

  await replace('rds.yaml', response('r2', [routeConfig('local_route', 'backend', [taggedRoute('/', 'backend', 'r2')])]));
  await waitFor('the new routes', async () => ((await hit(legate.url('/', 'http'))).headers['x-route'] === 'r2' ? true : undefined));

  await replace('eds.yaml', response('e2', [loadAssignment('backend', [b.port])]));
  await waitFor('the new endpoints', async () => ((await hit(legate.url('/', 'http'))).upstream === 'b' ? true : undefined));

  await replace('lds.yaml', 'version_info: l2\nresources: [ {');
  const rejected = await waitFor('the rejection', async () => (await dynamicDump(legate.adminUrl(''))).listeners.last_rejected);
  t.match(rejected, { source: `path:${file('lds.yaml')}`, error: /./ });
  await replace('cds.yaml', response('c2', [{ ...edsCluster('backend', { edsPath: file('eds.yaml') }), lb_policy: 'NO_SUCH_POLICY' }]));
  await waitFor('the CDS rejection', async () => (await dynamicDump(legate.adminUrl(''))).clusters.last_rejected);
  const still = await hit(legate.url('/', 'http'));
  t.equal(still.upstream, 'b', 'the last good config serves');
  t.equal(still.headers['x-route'], 'r2');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('listener_manager.lds.update_rejected'), 1);
  t.equal(stats.get('cluster_manager.cds.update_rejected'), 1);
  const dump = await dynamicDump(legate.adminUrl(''));
  t.equal(dump.listeners.version_info, 'l1');
  t.equal(dump.clusters.version_info, 'c1');

  // Good files again: a second listener, and the cluster becomes a static one on upstream a.
  await replace('lds.yaml', response('l3', [
    rdsListener('http', 'local_route', { rdsPath: file('rds.yaml') }),
    rdsListener('second', 'local_route', { rdsPath: file('rds.yaml') }),
  ]));
  await waitFor('listener second', () => legate.primary.applied?.listeners.find((l) => l.name === 'second'));
  t.equal((await hit(legate.url('/', 'second'))).upstream, 'b');
  await replace('cds.yaml', response('c3', [{ '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...staticCluster('backend', [{ port: a.port }]) }]));
  await waitFor('the static cluster', async () => ((await hit(legate.url('/', 'second'))).upstream === 'a' ? true : undefined));
  const after = await dynamicDump(legate.adminUrl(''));
  t.equal(after.listeners.version_info, 'l3');
  t.equal(after.clusters.version_info, 'c3');
  t.same(after.endpoint_configs.dynamic_endpoint_configs, [], 'the EDS file is no longer watched: nothing uses it');
});
