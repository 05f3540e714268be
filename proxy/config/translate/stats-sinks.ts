// The bootstrap's stats_sinks, stats_flush_interval and stats_flush_on_admin. Legate builds the
// UDP sinks, envoy.stat_sinks.statsd and envoy.stat_sinks.dog_statsd, and the gRPC metrics service
// (envoy.stat_sinks.metrics_service); every other sink is refused: TCP statsd through a cluster and
// Hystrix here by name, and the types whose protos Legate does not load (OpenTelemetry, Wasm, ...)
// by the schema, by their type name.
import { isIP } from 'node:net';
import type { StatsSinkConfig, StatsSinksConfig } from '../../stats/sinks/index.ts';
import { indexPath, joinPath } from '../errors.ts';
import { bool, checkApiVersion, grpcService, list, obj, reject, str, type Raw } from './common.ts';

const STATSD_TYPE = 'envoy.config.metrics.v3.StatsdSink';
const DOG_STATSD_TYPE = 'envoy.config.metrics.v3.DogStatsdSink';
const METRICS_SERVICE_TYPE = 'envoy.config.metrics.v3.MetricsServiceConfig';

const DEFAULT_FLUSH_INTERVAL_MS = 5000; // Envoy's
const DEFAULT_PREFIX = 'envoy';

/** Undefined when the bootstrap has no stats_sinks: the primary then runs no flush timer. */
export function translateStatsSinks(bootstrap: Raw): StatsSinksConfig | undefined {
  const interval = bootstrap.stats_flush_interval as number | undefined;
  const onAdmin = bootstrap.stats_flush_on_admin as boolean | undefined;
  if (interval !== undefined && onAdmin !== undefined) {
    reject('stats_flush_on_admin', 'only one of stats_flush_interval and stats_flush_on_admin can be set', 'remove one of them');
  }
  // The schema holds stats_flush_interval to Envoy's range, 1ms to under 5 minutes.
  if (onAdmin === false) reject('stats_flush_on_admin', 'must be true when set', 'remove it to flush on stats_flush_interval');
  const sinks = list(bootstrap, 'stats_sinks').map((raw, i) => statsSink(raw, indexPath('stats_sinks', i)));
  if (sinks.length === 0) return undefined;
  return { sinks, flushIntervalMs: interval ?? DEFAULT_FLUSH_INTERVAL_MS, flushOnAdmin: onAdmin === true };
}

function statsSink(raw: Raw, path: string): StatsSinkConfig {
  const config = obj(raw, 'typed_config');
  const at = joinPath(path, 'typed_config');
  if (config === undefined) reject(at, 'required field is missing', 'give the sink its typed_config: envoy.config.metrics.v3.StatsdSink or DogStatsdSink');
  const type = str(config, '@type');
  if (type === METRICS_SERVICE_TYPE) return metricsService(config, at);
  if (type !== STATSD_TYPE && type !== DOG_STATSD_TYPE) {
    reject(at, `not supported by Legate: stats sink '${str(raw, 'name') || type}'`, 'use envoy.stat_sinks.statsd, dog_statsd or metrics_service, or the admin\'s /stats/prometheus');
  }
  const sink = config;
  if (type === STATSD_TYPE && sink.tcp_cluster_name !== undefined) {
    reject(joinPath(at, 'tcp_cluster_name'), 'not supported by Legate: statsd over TCP through a cluster', 'send to a UDP address instead');
  }
  let maxBytes = 0;
  if (type === DOG_STATSD_TYPE && sink.max_bytes_per_datagram !== undefined) {
    maxBytes = Number(sink.max_bytes_per_datagram);
    if (!(maxBytes > 0)) reject(joinPath(at, 'max_bytes_per_datagram'), 'must be greater than 0', 'e.g. 1432 (fits an Ethernet MTU)');
  }
  return {
    kind: type === STATSD_TYPE ? 'statsd' : 'dog_statsd',
    address: udpAddress(obj(sink, 'address'), joinPath(at, 'address')),
    prefix: str(sink, 'prefix') || DEFAULT_PREFIX,
    maxBytesPerDatagram: maxBytes,
  };
}

function metricsService(raw: Raw, path: string): StatsSinkConfig {
  checkApiVersion(raw, 'transport_api_version', path);
  const service = obj(raw, 'grpc_service') ?? {}; // required: the schema says so when it is missing
  const mode = str(raw, 'histogram_emit_mode', 'SUMMARY_AND_HISTOGRAM');
  return {
    kind: 'metrics_service',
    grpcService: grpcService(service, joinPath(path, 'grpc_service')),
    reportCountersAsDeltas: bool(raw, 'report_counters_as_deltas', false),
    emitTagsAsLabels: bool(raw, 'emit_tags_as_labels', false),
    emitSummary: mode !== 'HISTOGRAM',
    emitHistogram: mode !== 'SUMMARY',
  };
}

// A statsd address is UDP whatever socket_address.protocol says, as in Envoy; it must be an IP.
function udpAddress(raw: Raw | undefined, path: string): { address: string; port: number } {
  if (raw === undefined) reject(path, 'required field is missing', 'set address.socket_address with the collector\'s IP and port_value');
  if (raw.pipe !== undefined) reject(joinPath(path, 'pipe'), 'not supported by Legate: a statsd sink on a Unix socket', 'use socket_address');
  const socket = obj(raw, 'socket_address');
  if (socket === undefined) reject(joinPath(path, 'socket_address'), 'required field is missing', 'set socket_address with address and port_value');
  const at = joinPath(path, 'socket_address');
  const address = str(socket, 'address');
  if (isIP(address) === 0) reject(joinPath(at, 'address'), `'${address}' is not an IP address`, 'give the collector\'s IP address (Envoy does not resolve names here)');
  const port = socket.port_value as number | undefined;
  if (port === undefined || port === 0) reject(joinPath(at, 'port_value'), 'required field is missing', 'set the collector\'s UDP port, e.g. 8125');
  return { address, port };
}
