// Bodies are streamed, never buffered whole: 100 MiB up and 100 MiB down through a Legate child
// process whose resident memory is sampled during the transfer, with byte counts and hashes
// compared end to end.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { BulkPattern, bulkHandler, bulkTransferChecks, MiB } from '../../support/bulk-transfer.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';

const pattern = new BulkPattern(100 * MiB, 'legate streaming test ');
// Bytes the upstream handed to its socket, by request path.
const written = new Map<string, number>();

const upstream = await startUpstream('bulk', bulkHandler(pattern, written));
t.teardown(() => upstream.close());

const legate = await spawnLegate(bootstrap([httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'bulk', timeout: '60s' } }]))], [staticCluster('bulk', [{ port: upstream.port }])]));
t.teardown(() => legate.stop('SIGKILL'));

// A proxy that held a whole 100 MiB body would grow by more than that. Streaming still leaves
// garbage: V8 collects dead Buffers once about 64 MiB of external memory piled up.
bulkTransferChecks(t, { legate, pattern, growthLimit: 96 * MiB, written, upstream: 'an HTTP/1 upstream' });
