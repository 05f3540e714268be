// envoy.stat_sinks.metrics_service with real parts: a gRPC MetricsService written in the test
// (@grpc/grpc-js, Envoy's protos) receives the client stream a running Legate opens: the node in
// the first message only, counters as deltas with their tags as labels, and each histogram over
// the flush interval as a summary and as Prometheus buckets.
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { loadProtoFiles } from '../../../envoy-api/index.ts';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';

interface Family {
  name: string;
  type: string;
  metric: { label?: { name: string; value: string }[]; counter?: { value: number }; timestamp_ms: number; summary?: { sample_count: number; sample_sum: number; quantile: { quantile: number; value: number }[] }; histogram?: { sample_count: number; bucket: { upper_bound: number; cumulative_count: number }[] } }[];
}
interface StreamMessage {
  identifier?: { node: { id: string; cluster: string } };
  envoy_metrics: Family[];
}

const root = loadProtoFiles(['envoy/service/metrics/v3/metrics_service.proto']);
const Message = root.lookupType('envoy.service.metrics.v3.StreamMetricsMessage');

/** A MetricsService on 127.0.0.1:0 keeping every message of every stream. */
async function metricsService(t: Test) {
  const messages: StreamMessage[] = [];
  const events = new EventEmitter();
  const server = new grpc.Server();
  server.addService(
    {
      StreamMetrics: {
        path: '/envoy.service.metrics.v3.MetricsService/StreamMetrics',
        requestStream: true,
        responseStream: false,
        requestSerialize: (m: Uint8Array) => Buffer.from(m),
        requestDeserialize: (b: Buffer) => Message.toObject(Message.decode(b), { enums: String, longs: Number, arrays: true }) as StreamMessage,
        responseSerialize: () => Buffer.alloc(0),
        responseDeserialize: () => ({}),
      },
    },
    {
      StreamMetrics: (call: grpc.ServerReadableStream<StreamMessage, object>, callback: grpc.sendUnaryData<object>) => {
        call.on('data', (m: StreamMessage) => {
          messages.push(m);
          events.emit('message');
        });
        call.on('end', () => callback(null, {}));
        call.on('error', () => undefined);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const until = (what: string, check: () => boolean, timeoutMs = 5000) =>
    new Promise<void>((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => {
        events.off('message', onMessage);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${messages.length} messages)`));
      }, timeoutMs);
      const onMessage = () => {
        if (!check()) return;
        clearTimeout(timer);
        events.off('message', onMessage);
        resolve();
      };
      events.on('message', onMessage);
    });
  return { port, messages, until };
}

const families = (messages: StreamMessage[], name: string, type: string) => messages.flatMap((m) => m.envoy_metrics.filter((f) => f.name === name && f.type === type));
const labelled = (f: Family, name: string, value: string) => (f.metric[0].label ?? []).some((l) => l.name === name && l.value === value);

t.test('a MetricsService receives the node once, counter deltas with tags as labels, interval histograms', async (t) => {
  const upstream = await startUpstreamFor(t, 'backend');
  const service = await metricsService(t);
  const legate = await startLegate(
    bootstrap(
      [httpListener('ingress_http', routes([{ match: { prefix: '/' }, route: { cluster: 'backend' } }]))],
      [staticCluster('backend', [{ port: upstream.port }]), staticCluster('metrics', [{ port: service.port }], { http2_protocol_options: {} })],
      {
        stats_flush_interval: '0.2s',
        stats_sinks: [{
          name: 'envoy.stat_sinks.metrics_service',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.config.metrics.v3.MetricsServiceConfig',
            transport_api_version: 'V3',
            grpc_service: { envoy_grpc: { cluster_name: 'metrics' } },
            report_counters_as_deltas: true,
            emit_tags_as_labels: true,
          },
        }],
      },
    ),
  );
  t.teardown(() => legate.stop());

  const requests = 3;
  for (let i = 0; i < requests; i++) t.equal((await fetchText(legate.url(`/m${i}`))).status, 200);

  const rqTotal = () => families(service.messages, 'cluster.upstream_rq_total', 'COUNTER').filter((f) => labelled(f, 'envoy.cluster_name', 'backend'));
  await service.until(`upstream_rq_total deltas adding up to ${requests}`, () => rqTotal().reduce((sum, f) => sum + (f.metric[0].counter?.value ?? 0), 0) === requests);
  const summaries = () => families(service.messages, 'cluster.upstream_rq_time', 'SUMMARY').filter((f) => labelled(f, 'envoy.cluster_name', 'backend'));
  await service.until('interval summaries adding up to the requests', () => summaries().reduce((sum, f) => sum + f.metric[0].summary!.sample_count, 0) === requests);
  await service.until('a flush after the requests', () => summaries().some((f) => f.metric[0].summary!.sample_count === 0));

  t.equal(service.messages[0].identifier?.node.id, 'test', 'the first message names the node');
  t.ok(service.messages.slice(1).every((m) => m.identifier === undefined), 'later messages do not');
  const summary = summaries().find((f) => f.metric[0].summary!.sample_count > 0)!.metric[0].summary!;
  t.same(summary.quantile.map((q) => q.quantile), [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1], "Envoy's quantiles");
  const histogram = families(service.messages, 'cluster.upstream_rq_time', 'HISTOGRAM').find((f) => (f.metric[0].histogram?.sample_count ?? 0) > 0)!.metric[0].histogram!;
  t.equal(histogram.bucket.length, 19, "Envoy's default buckets");
  t.equal(histogram.bucket.at(-1)!.cumulative_count, histogram.sample_count, 'cumulative counts');
  t.ok(service.messages.at(-1)!.envoy_metrics.every((f) => f.metric[0].timestamp_ms > Date.now() - 60_000), 'stamped with the snapshot time');
});

t.test('a metrics service cluster Legate cannot reach is a start-up error', async (t) => {
  const legate = startLegate(bootstrap([], [], {
    stats_sinks: [{ name: 'envoy.stat_sinks.metrics_service', typed_config: { '@type': 'type.googleapis.com/envoy.config.metrics.v3.MetricsServiceConfig', grpc_service: { envoy_grpc: { cluster_name: 'nowhere' } } } }],
  }));
  await t.rejects(legate, /metrics_service: unknown cluster 'nowhere'/);
});
