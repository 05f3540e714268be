// examples/edge.yaml, the README's worked edge bootstrap: `legate validate` accepts it without a
// warning, and each edge limit it sets reaches the model (so none is quietly dropped).
import t from 'tap';
import { loadBootstrap } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager } from '../../../proxy/config/model.ts';
import { runCli } from '../../support/legate-process.ts';

t.test('legate validate accepts examples/edge.yaml', async (t) => {
  const result = await runCli(['validate', '-c', 'examples/edge.yaml']);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /examples\/edge\.yaml: OK/);
  t.equal(result.stderr, '', 'no warnings');
});

t.test('every limit of examples/edge.yaml is in effect', async (t) => {
  const boot = loadBootstrap('examples/edge.yaml');
  t.same(boot.warnings, []);
  const listener = boot.listeners[0];
  t.equal(listener.perConnectionBufferLimitBytes, 32768);
  const hcm = listener.filterChains[0].network as HttpConnectionManager;
  t.match(hcm, {
    bufferLimitBytes: 32768,
    useRemoteAddress: true,
    maxRequestHeadersKb: 60,
    requestHeadersTimeoutMs: 10_000,
    streamIdleTimeoutMs: 300_000,
    requestTimeoutMs: 300_000,
    drainTimeoutMs: 5000,
    delayedCloseTimeoutMs: 1000,
    idleTimeoutMs: 900_000,
    maxConnectionDurationMs: 3_600_000,
    maxRequestsPerConnection: 10_000,
    maxStreamDurationMs: 600_000,
    maxHeadersCount: 100,
    headersWithUnderscoresAction: 'REJECT_REQUEST',
    http2: { maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576 },
  });
  const route = boot.routeConfigs[hcm.routeConfigName].virtualHosts[0].routes[0];
  t.equal(route.perRequestBufferLimitBytes, 65536, "the virtual host's per_request_buffer_limit_bytes");
  t.match(boot.clusters[0], { perConnectionBufferLimitBytes: 32768, maxConnectionDurationMs: 600_000, maxRequestsPerConnection: 10_000, upstreamIdleTimeoutMs: 60_000 });
  t.ok(boot.overloadManager !== undefined, 'the overload manager is configured');
});
