// An ORIGINAL_DST cluster's metadata_key read by the router: a connection manager on an internal
// listener routes to it, and the destination comes from the dynamic metadata the internal
// connection was passed (the cluster's internal_upstream passthrough), as Envoy's
// metadataOverrideHost reads the downstream connection's metadata; upstream_port_override then
// replaces the port. The internal connection has no original destination of its own, so without
// the metadata there is no host (503 UH).
import t from 'tap';
import { bootstrap, httpListener, routes } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalHttpListener } from './fixtures.ts';

t.test('metadata_key on an HTTP route: the internal connection\'s passthrough metadata picks the host', async (t) => {
  const upstream = await startUpstreamFor(t, 'target');
  const toInner = (name: string, target: string | undefined) => internalCluster(name, 'inner', {
    metadata: { filter_metadata: { routing: target === undefined ? { other: 'x' } : { target: [target, '192.0.2.1:1'] } } },
    transport_socket: {
      name: 'envoy.transport_sockets.internal_upstream',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport',
        passthrough_metadata: [{ kind: { cluster: {} }, name: 'routing' }],
        transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } },
      },
    },
  });
  const legate = await startLegate(bootstrap(
    [
      httpListener('public', routes([
        { match: { prefix: '/named' }, route: { cluster: 'to-inner' } },
        { match: { prefix: '/unnamed' }, route: { cluster: 'to-inner-without' } },
      ])),
      internalHttpListener('inner', 'by-metadata'),
    ],
    [
      // The port in the metadata is wrong on purpose: upstream_port_override replaces it.
      toInner('to-inner', '127.0.0.1:1'),
      toInner('to-inner-without', undefined),
      {
        name: 'by-metadata',
        type: 'ORIGINAL_DST',
        lb_policy: 'CLUSTER_PROVIDED',
        connect_timeout: '1s',
        original_dst_lb_config: { upstream_port_override: upstream.port, metadata_key: { key: 'routing', path: [{ key: 'target' }] } },
      },
    ],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());

  const named = await nodeRequest(legate.url('/named/1', 'public'));
  t.equal(named.status, 200);
  t.same(JSON.parse(named.body), { upstream: 'target', path: '/named/1' }, 'the first address of the list, on the override port');
  const unnamed = await nodeRequest(legate.url('/unnamed/1', 'public'));
  t.equal(unnamed.status, 503, 'no metadata value and no original destination: no host');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.by-metadata.upstream_rq_total'), 1);
  t.equal(stats.get('cluster.by-metadata.upstream_cx_none_healthy'), 1);
});
