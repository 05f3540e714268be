// OTLP collectors for tests: the gRPC TraceService (on @grpc/grpc-js, from Legate's OTLP schema,
// whose field numbers are opentelemetry-proto's) and OTLP over HTTP (POST of the protobuf request,
// decoded with protobufjs). Both keep the spans they got with ids as hex; tests wait on arrival.
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { startUpstream } from '../../support/upstream.ts';

const SCHEMA = fileURLToPath(new URL('../../../proxy/tracing/otlp-trace.proto', import.meta.url));

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: string;
  startNanos: bigint;
  endNanos: bigint;
  attributes: Record<string, string>;
}

export interface OtlpCollector {
  port: number;
  spans: OtlpSpan[];
  /** service.name of each request's resource, and the request's metadata/headers. */
  requests: { serviceName: string; scope: string; headers: Record<string, string> }[];
  waitForSpans(count: number, timeoutMs?: number): Promise<OtlpSpan[]>;
  close(): Promise<void>;
}

interface RawRequest {
  resource_spans: {
    resource: { attributes: { key: string; value: { string_value?: string } }[] };
    scope_spans: { scope: { name: string }; spans: RawSpan[] }[];
  }[];
}

interface RawSpan {
  trace_id: Buffer;
  span_id: Buffer;
  parent_span_id: Buffer;
  trace_state: string;
  name: string;
  kind: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  attributes: { key: string; value: { string_value?: string } }[];
}

function collector(): { state: Omit<OtlpCollector, 'port' | 'close'>; take(request: RawRequest, headers: Record<string, string>): void } {
  const spans: OtlpSpan[] = [];
  const requests: OtlpCollector['requests'] = [];
  const events = new EventEmitter();
  return {
    state: {
      spans,
      requests,
      waitForSpans: (count, timeoutMs = 5000) =>
        new Promise((resolve, reject) => {
          const check = (): boolean => {
            if (spans.length < count) return false;
            clearTimeout(timer);
            events.off('spans', check);
            resolve(spans.slice(0, count));
            return true;
          };
          const timer = setTimeout(() => {
            events.off('spans', check);
            reject(new Error(`OTLP collector: ${spans.length} of ${count} spans within ${timeoutMs} ms`));
          }, timeoutMs);
          if (!check()) events.on('spans', check);
        }),
    },
    take(request, headers) {
      for (const rs of request.resource_spans) {
        const serviceName = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.string_value ?? '';
        for (const ss of rs.scope_spans) {
          requests.push({ serviceName, scope: ss.scope.name, headers });
          for (const s of ss.spans) {
            spans.push({
              traceId: Buffer.from(s.trace_id).toString('hex'),
              spanId: Buffer.from(s.span_id).toString('hex'),
              parentSpanId: Buffer.from(s.parent_span_id).toString('hex'),
              traceState: s.trace_state,
              name: s.name,
              kind: s.kind,
              startNanos: BigInt(s.start_time_unix_nano),
              endNanos: BigInt(s.end_time_unix_nano),
              attributes: Object.fromEntries(s.attributes.map((a) => [a.key, a.value.string_value ?? ''])),
            });
          }
        }
      }
      events.emit('spans');
    },
  };
}

const LOAD = { keepCase: true, enums: String, longs: String, defaults: true } as const;

export async function startGrpcOtlpCollector(): Promise<OtlpCollector> {
  const { state, take } = collector();
  const definition = protoLoader.loadSync(SCHEMA, LOAD);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } } };
  const server = new grpc.Server();
  server.addService(pkg.opentelemetry.proto.collector.trace.v1.TraceService.service, {
    Export: (call: grpc.ServerUnaryCall<RawRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      take(call.request, { ...Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])), authority: call.getHost() });
      cb(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { ...state, port, close: async () => server.forceShutdown() };
}

export async function startHttpOtlpCollector(): Promise<OtlpCollector> {
  const { state, take } = collector();
  const root = protobuf.parse((await import('node:fs')).readFileSync(SCHEMA, 'utf8'), { keepCase: true }).root;
  const type = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const upstream = await startUpstream('otlp-http', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const decoded = type.toObject(type.decode(Buffer.concat(chunks)), { ...LOAD, bytes: Buffer }) as RawRequest;
      take(decoded, { 'content-type': String(req.headers['content-type']), path: req.url ?? '', ...(req.headers['x-tenant'] === undefined ? {} : { 'x-tenant': String(req.headers['x-tenant']) }) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' });
      res.end();
    });
  });
  return { ...state, port: upstream.port, close: () => upstream.close() };
}
