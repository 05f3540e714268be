// OTLP's ExportTraceServiceRequest for a batch of spans, encoded with protobufjs from
// otlp-trace.proto (loaded on the first export): one resource (service.name) and one scope
// ("envoy", as Envoy names it), times in nanoseconds since the epoch.
import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';
import type { OtelSpan } from './otel-span.ts';

// Not an ESM import: that reads every export of node:fs, loading what its lazy ones need.
const { readFileSync } = process.getBuiltinModule('node:fs');

const require = createRequire(import.meta.url);
const SCHEMA = new URL('./otlp-trace.proto', import.meta.url).pathname;
let requestType: protobuf.Type | undefined;

function exportRequestType(): protobuf.Type {
  if (requestType === undefined) {
    const protobufjs = require('protobufjs') as typeof protobuf;
    const { root } = protobufjs.parse(readFileSync(SCHEMA, 'utf8'), { keepCase: true });
    requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  }
  return requestType;
}

const KIND = { SERVER: 2, CLIENT: 3 } as const;

// Milliseconds (with fractions) to nanoseconds as a decimal string: beyond 2^53, so not a number.
function nanos(ms: number): string {
  const whole = Math.floor(ms);
  return `${whole}${String(Math.round((ms - whole) * 1e6)).padStart(6, '0')}`;
}

export function encodeExportRequest(spans: readonly OtelSpan[], serviceName: string): Uint8Array {
  const type = exportRequestType();
  const message = type.fromObject({
    resource_spans: [{
      resource: { attributes: [{ key: 'service.name', value: { string_value: serviceName } }] },
      scope_spans: [{
        scope: { name: 'envoy' },
        spans: spans.map((s) => ({
          trace_id: Buffer.from(s.context.traceId, 'hex'),
          span_id: Buffer.from(s.context.spanId, 'hex'),
          trace_state: s.context.traceState,
          parent_span_id: s.parentId === '' ? Buffer.alloc(0) : Buffer.from(s.parentId, 'hex'),
          name: s.name,
          kind: KIND[s.kind],
          start_time_unix_nano: nanos(s.startMs),
          end_time_unix_nano: nanos(s.endMs),
          attributes: Object.entries(s.tags).map(([key, value]) => ({ key, value: { string_value: value } })),
        })),
      }],
    }],
  });
  return type.encode(message).finish();
}
