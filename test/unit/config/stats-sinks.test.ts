// The bootstrap's stats_sinks, stats_flush_interval and stats_flush_on_admin as Legate translates
// them: Envoy's defaults, the UDP sinks it builds, and what it refuses by name.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';

const STATSD = 'type.googleapis.com/envoy.config.metrics.v3.StatsdSink';
const DOG_STATSD = 'type.googleapis.com/envoy.config.metrics.v3.DogStatsdSink';
const address = (ip = '127.0.0.1', port = 8125, protocol?: string) => ({ socket_address: { address: ip, port_value: port, ...(protocol ? { protocol } : {}) } });
const statsd = (fields: object) => ({ name: 'envoy.stat_sinks.statsd', typed_config: { '@type': STATSD, ...fields } });
const METRICS_SERVICE = 'type.googleapis.com/envoy.config.metrics.v3.MetricsServiceConfig';
const metricsService = (fields: object) => ({ name: 'envoy.stat_sinks.metrics_service', typed_config: { '@type': METRICS_SERVICE, grpc_service: { envoy_grpc: { cluster_name: 'metrics' } }, ...fields } });
const dogStatsd = (fields: object) => ({ name: 'envoy.stat_sinks.dog_statsd', typed_config: { '@type': DOG_STATSD, ...fields } });

function rejection(extra: object): string {
  try {
    translateBootstrap(extra);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

t.test("Envoy's defaults: prefix envoy, a flush every 5 s, one line per datagram", async (t) => {
  const boot = translateBootstrap({ stats_sinks: [statsd({ address: address('127.0.0.1', 8125, 'UDP') })] });
  t.same(boot.statsSinks, { sinks: [{ kind: 'statsd', address: { address: '127.0.0.1', port: 8125 }, prefix: 'envoy', maxBytesPerDatagram: 0 }], flushIntervalMs: 5000, flushOnAdmin: false });
  t.same(boot.warnings, [], 'nothing ignored');
});

t.test('dog_statsd with its prefix and datagram size; flush on admin', async (t) => {
  const boot = translateBootstrap({ stats_flush_on_admin: true, stats_sinks: [dogStatsd({ address: address('::1', 9125), prefix: 'mesh', max_bytes_per_datagram: 1432 })] });
  t.same(boot.statsSinks, { sinks: [{ kind: 'dog_statsd', address: { address: '::1', port: 9125 }, prefix: 'mesh', maxBytesPerDatagram: 1432 }], flushIntervalMs: 5000, flushOnAdmin: true });
});

t.test('metrics_service: Envoy\'s defaults and histogram_emit_mode', async (t) => {
  const [sink] = translateBootstrap({ stats_sinks: [metricsService({ transport_api_version: 'V3' })] }).statsSinks!.sinks;
  t.same(sink, {
    kind: 'metrics_service',
    grpcService: { clusterName: 'metrics', timeoutMs: 0, initialMetadata: [] },
    reportCountersAsDeltas: false,
    emitTagsAsLabels: false,
    emitSummary: true,
    emitHistogram: true,
  });
  const modes = ['SUMMARY', 'HISTOGRAM'].map((mode) => translateBootstrap({ stats_sinks: [metricsService({ histogram_emit_mode: mode, report_counters_as_deltas: true, emit_tags_as_labels: true })] }).statsSinks!.sinks[0]);
  t.match(modes, [
    { emitSummary: true, emitHistogram: false, reportCountersAsDeltas: true, emitTagsAsLabels: true },
    { emitSummary: false, emitHistogram: true },
  ]);
  t.match(rejection({ stats_sinks: [{ name: 'envoy.stat_sinks.metrics_service', typed_config: { '@type': METRICS_SERVICE } }] }), /grpc_service: required field is missing/);
});

t.test('no sinks: nothing to flush, whatever the interval', async (t) => {
  t.equal(translateBootstrap({ stats_flush_interval: '1s' }).statsSinks, undefined);
});

t.test('refused by name', async (t) => {
  t.match(rejection({ stats_sinks: [statsd({ tcp_cluster_name: 'statsd' })] }), /tcp_cluster_name.*not supported by Legate: statsd over TCP/);
  t.match(rejection({ stats_sinks: [{ name: 'envoy.stat_sinks.hystrix', typed_config: { '@type': 'type.googleapis.com/envoy.config.metrics.v3.HystrixSink' } }] }), /not supported by Legate: stats sink 'envoy.stat_sinks.hystrix'/);
  t.match(rejection({ stats_sinks: [{ name: 'envoy.stat_sinks.open_telemetry', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.stat_sinks.open_telemetry.v3.SinkConfig' } }] }), /envoy\.extensions\.stat_sinks\.open_telemetry\.v3\.SinkConfig/);
  t.match(rejection({ stats_sinks: [metricsService({ transport_api_version: 'V2' })] }), /transport_api_version.*V2 is not supported/);
  t.match(rejection({ stats_sinks: [{ name: 'envoy.stat_sinks.statsd' }] }), /stats_sinks\[0\]\.typed_config.*required/);
  t.match(rejection({ stats_sinks: [statsd({ address: address('statsd.local') })] }), /'statsd\.local' is not an IP address/);
  t.match(rejection({ stats_sinks: [statsd({ address: { pipe: { path: '/tmp/statsd.sock' } } })] }), /Unix socket/);
  t.match(rejection({ stats_sinks: [dogStatsd({ address: address(), max_bytes_per_datagram: 0 })] }), /max_bytes_per_datagram/);
});

t.test('the flush settings are checked as Envoy checks them', async (t) => {
  const sinks = [statsd({ address: address() })];
  t.match(rejection({ stats_sinks: sinks, stats_flush_interval: '1s', stats_flush_on_admin: true }), /only one of stats_flush_interval and stats_flush_on_admin/);
  t.match(rejection({ stats_sinks: sinks, stats_flush_on_admin: false }), /stats_flush_on_admin: must be true/);
  t.match(rejection({ stats_sinks: sinks, stats_flush_interval: '300s' }), /stats_flush_interval.*must be less than 300s/);
  t.match(rejection({ stats_sinks: sinks, stats_flush_interval: '0s' }), /stats_flush_interval.*must be at least 0.001s/);
  t.equal(translateBootstrap({ stats_sinks: sinks, stats_flush_interval: '0.25s' }).statsSinks?.flushIntervalMs, 250);
});
