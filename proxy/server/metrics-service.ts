// The primary's client stream to Envoy's MetricsService (envoy.stat_sinks.metrics_service), on
// @grpc/grpc-js as the primary's other control-plane streams are. Like Envoy: one stream, opened by
// the first flush, the node sent only in its first message, reopened by the next flush after it
// ends; the service sends nothing back until it closes. A flush due while the previous one is still
// buffered is dropped rather than queued. The server is reached as an SDS server is: the first
// endpoint of a static cluster (or google_grpc's target), in plaintext.
import * as grpc from '@grpc/grpc-js';
import { loadProtoFiles } from '../../envoy-api/index.ts';
import { anyFromJson, type NodeInfo } from '../../xds-client/index.ts';
import type { Cluster } from '../config/model.ts';
import type { StatsSettings } from '../stats/index.ts';
import { MetricsServiceSink, type MetricsServiceSinkConfig, type MetricsStream } from '../stats/sinks/index.ts';
import { grpcTarget } from './grpc-target.ts';

const METHOD = '/envoy.service.metrics.v3.MetricsService/StreamMetrics';

/** The sink; throws a one-line error when its cluster cannot be reached this way. */
export function metricsServiceSink(config: MetricsServiceSinkConfig, settings: StatsSettings, context: { clusters: readonly Cluster[]; node: NodeInfo; log(line: string): void }): MetricsServiceSink {
  const what = 'stats_sinks: envoy.stat_sinks.metrics_service';
  const cluster = context.clusters.find((c) => c.name === config.grpcService.clusterName);
  if (config.grpcService.clusterName !== undefined && cluster === undefined) {
    throw new Error(`${what}: unknown cluster '${config.grpcService.clusterName}' (define the metrics service as a static cluster)`);
  }
  if (cluster?.tls !== undefined) throw new Error(`${what}: not supported by Legate: a metrics service cluster with a TLS transport socket`);
  return new MetricsServiceSink(config, settings, metricsStream(grpcTarget(config.grpcService, context.clusters, what), config, context.node, context.log));
}

function metricsStream(target: string, config: MetricsServiceSinkConfig, node: NodeInfo, log: (line: string) => void): MetricsStream {
  const root = loadProtoFiles(['envoy/service/metrics/v3/metrics_service.proto']);
  const Message = root.lookupType('envoy.service.metrics.v3.StreamMetricsMessage');
  const Response = root.lookupType('envoy.service.metrics.v3.StreamMetricsResponse');
  const nodeMessage = root.lookupType('envoy.config.core.v3.Node').decode(anyFromJson({ '@type': 'type.googleapis.com/envoy.config.core.v3.Node', ...node }).value);
  const authority = config.grpcService.authority;
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), authority === undefined ? {} : { 'grpc.default_authority': authority });
  let call: grpc.ClientWritableStream<Uint8Array> | null = null;
  let buffered = false;
  let failureLogged = false;
  const open = (): grpc.ClientWritableStream<Uint8Array> => {
    const metadata = new grpc.Metadata();
    for (const { key, value } of config.grpcService.initialMetadata) metadata.add(key, value);
    const opened = client.makeClientStreamRequest<Uint8Array, unknown>(METHOD, (m) => Buffer.from(m), (b) => Response.decode(b), metadata, {}, (err) => {
      if (err !== null && !failureLogged) {
        failureLogged = true; // once: a service that is down would otherwise log every flush
        log(`metrics service stream to ${target} ended: ${err.details || err.message}`);
      }
      if (call === opened) {
        call = null;
        buffered = false;
      }
    });
    return opened;
  };
  return {
    send(families) {
      if (buffered) return;
      const message: Record<string, unknown> = { envoy_metrics: families };
      if (call === null) {
        call = open();
        message.identifier = { node: nodeMessage };
      }
      const current = call;
      if (!current.write(Message.encode(Message.fromObject(message)).finish())) {
        buffered = true;
        current.once('drain', () => {
          if (call === current) buffered = false;
        });
      }
    },
    close() {
      call?.end();
      call = null;
      client.close();
    },
  };
}
