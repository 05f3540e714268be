// Bodies stream through an internal listener with bounded memory: 160 MiB up and down through a
// Legate child process whose route reaches the upstream via an internal listener's connection
// manager (two HTTP hops in one process, the internal socket pair between them), and a client
// that stops reading holds the upstream back across the internal connection's buffer.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { BulkPattern, bulkHandler, bulkTransferChecks, MiB } from '../../support/bulk-transfer.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalHttpListener } from './fixtures.ts';

const pattern = new BulkPattern(160 * MiB, 'legate internal streaming ');
const written = new Map<string, number>();
const upstream = await startUpstream('bulk', bulkHandler(pattern, written));
t.teardown(() => upstream.close());

const legate = await spawnLegate(bootstrap(
  [
    httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'to_inner', timeout: '60s' } }])),
    internalHttpListener('inner', 'unused', { route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'bulk', timeout: '60s' } }]) }),
  ],
  [internalCluster('to_inner', 'inner'), staticCluster('bulk', [{ port: upstream.port }])],
  { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
));
t.teardown(() => legate.stop('SIGKILL'));

// A proxy that held the body would grow by more than the limit. Two hops leave about 90 MiB of
// garbage at the peak (one hop: about as much, test/integration/http/streaming.test.ts), hence the
// larger body than there.
bulkTransferChecks(t, { legate, pattern, growthLimit: 140 * MiB, written, upstream: 'an upstream behind an internal listener' });
