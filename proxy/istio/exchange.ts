// Istio's TCP metadata exchange: on a connection whose TLS negotiated the `istio-peer-exchange`
// ALPN protocol, each side first writes a header, then the application's bytes follow:
//   magic 0x3D230467 (4 bytes, big-endian), length (4 bytes), a google.protobuf.Any holding a
//   Struct { "x-envoy-peer-metadata": <workload metadata>, "x-envoy-peer-metadata-id": <node id> }.
// Each side reads the other's header off the start of what it receives and passes the rest on.
// A stream that does not start with the magic is passed on whole (the peer has no exchange).
import { decodeAny, decodeStruct, encodeAny, encodeStruct, type StructValue } from './struct-codec.ts';
import { workloadFromStruct, workloadToStruct, type WorkloadMetadata } from './workload-metadata.ts';

const MAGIC = 0x3d230467;
const STRUCT_TYPE_URL = 'type.googleapis.com/google.protobuf.Struct';
const MAX_HEADER = 64 * 1024; // a peer's metadata is a few hundred bytes
const EMPTY = Buffer.alloc(0);

export function exchangeHeader(self: WorkloadMetadata, nodeId: string): Buffer {
  const data: StructValue = { 'x-envoy-peer-metadata': workloadToStruct(self) };
  if (nodeId !== '') data['x-envoy-peer-metadata-id'] = nodeId;
  const any = encodeAny(STRUCT_TYPE_URL, encodeStruct(data));
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt32BE(any.length, 4);
  return Buffer.concat([head, any]);
}

/** Reads the peer's header off the start of a byte stream, then passes everything through. */
export class ExchangeReader {
  private pending: Buffer = EMPTY;
  private state: 'reading' | 'done' = 'reading';
  peer: WorkloadMetadata | undefined;
  /** The peer sent no header, or one that did not decode: Istio looks it up by address (enable_discovery). */
  missing = false;
  readonly additionalLabels: ReadonlySet<string>;

  constructor(additionalLabels: ReadonlySet<string>) {
    this.additionalLabels = additionalLabels;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** What of `chunk` goes on to the application (empty while the header is incomplete). */
  push(chunk: Buffer): Buffer {
    if (this.state === 'done') return chunk;
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (bytes.length >= 4 && bytes.readUInt32BE(0) !== MAGIC) return this.finishMissing(bytes); // no exchange from the peer
    if (bytes.length < 8) return this.hold(bytes);
    const length = bytes.readUInt32BE(4);
    if (length > MAX_HEADER) return this.finishMissing(bytes.subarray(8));
    if (bytes.length < 8 + length) return this.hold(bytes);
    try {
      const any = decodeAny(bytes.subarray(8, 8 + length));
      const data = decodeStruct(any.value);
      const metadata = data['x-envoy-peer-metadata'];
      if (metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata)) this.peer = workloadFromStruct(metadata, this.additionalLabels);
    } catch {
      // A header that is not a Struct: Istio goes on without the header's peer too.
      this.missing = true;
    }
    return this.finish(bytes.subarray(8 + length));
  }

  /** The stream ended before a whole header: what was held goes on. */
  flush(): Buffer {
    return this.finish(this.pending);
  }

  private hold(bytes: Buffer): Buffer {
    this.pending = bytes;
    return EMPTY;
  }

  private finishMissing(rest: Buffer): Buffer {
    this.missing = true;
    return this.finish(rest);
  }

  private finish(rest: Buffer): Buffer {
    this.state = 'done';
    this.pending = EMPTY;
    return rest;
  }
}
