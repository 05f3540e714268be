// Bodies stream through an HTTP/2 upstream connection with bounded memory: 200 MiB up and 200 MiB
// down between an HTTP/1.1 client and a node:http2 upstream, through a Legate child process whose
// resident memory is sampled, with byte counts and hashes compared end to end; and a client that
// stops reading holds the HTTP/2 upstream back (HTTP/2 flow control: the stream's window stops
// opening). The cluster uses small windows, as Envoy recommends for bounded memory.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { BulkPattern, bulkTransferChecks, MiB, receiveBulk, sendBulk } from '../../support/bulk-transfer.ts';
import { startH2Upstream } from '../../support/h2-upstream.ts';
import { spawnLegate } from '../../support/legate-process.ts';

const pattern = new BulkPattern(200 * MiB, 'legate h2 streaming test ');
/** Bytes the upstream handed to its stream, by path. */
const written = new Map<string, number>();

const upstream = await startH2Upstream(t, (stream, headers) => {
  if (headers[':method'] === 'POST') {
    receiveBulk(stream, (json) => {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(json);
    });
    return;
  }
  stream.respond({ ':status': 200, 'content-length': pattern.total });
  sendBulk(stream, pattern, written, String(headers[':path']));
}, { settings: { initialWindowSize: 4 * MiB }, connectionWindow: 16 * MiB });

const cluster = staticCluster('bulk', [{ port: upstream.port }], {
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: { initial_stream_window_size: 65536, initial_connection_window_size: 1048576 } },
    },
  },
});
const legate = await spawnLegate(bootstrap([httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'bulk', timeout: '60s' } }]))], [cluster]));
t.teardown(() => legate.stop('SIGKILL'));

// A proxy that held a body would grow by more than 200 MiB. Streaming still leaves garbage: V8
// collects dead Buffers once about 64 MiB of external memory piled up (measured: 64 MiB for 100 MiB
// and for 200 MiB uploads, near 100 MiB on a busy machine).
bulkTransferChecks(t, { legate, pattern, growthLimit: 128 * MiB, written, upstream: 'an HTTP/2 upstream' });
