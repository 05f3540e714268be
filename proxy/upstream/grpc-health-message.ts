// The two grpc.health.v1 messages a gRPC health check exchanges, in gRPC's length-prefixed framing.
// HealthCheckRequest { string service = 1 } and HealthCheckResponse { ServingStatus status = 1 }
// are too small to need a schema: field 1 is encoded and read by hand.

export const SERVING = 1;

/** The largest response message accepted (gRPC's default max_receive_message_length, 4 MiB). */
const MAX_MESSAGE = 4 * 1024 * 1024;

/** A framed HealthCheckRequest: flags 0 (uncompressed), length, then field 1 when set. */
export function healthCheckRequestFrame(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const body = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/**
 * Reads a unary response body as it arrives. `status` is the message's serving status once one
 * message came; `error` says why the body is not one valid uncompressed HealthCheckResponse.
 */
export class HealthResponseReader {
  status: number | undefined;
  error: string | undefined;
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    if (this.error !== undefined) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5 && this.error === undefined) {
      const length = this.pending.readUInt32BE(1);
      if (length > MAX_MESSAGE) {
        this.error = 'message too large';
        return;
      }
      if (this.pending.length < 5 + length) return;
      const flags = this.pending[0];
      const message = this.pending.subarray(5, 5 + length);
      this.pending = this.pending.subarray(5 + length);
      // Empty frames carry nothing; a unary call has exactly one message (Envoy's rules).
      if (length === 0) continue;
      if (this.status !== undefined) {
        this.error = 'unexpected streaming';
        return;
      }
      const status = flags === 0 ? servingStatus(message) : undefined;
      if (status === undefined) this.error = 'invalid grpc.health.v1 RPC payload';
      else this.status = status;
    }
  }
}

/** HealthCheckResponse.status (0 when absent, as proto3); undefined for malformed protobuf. */
export function servingStatus(message: Buffer): number | undefined {
  let status = 0;
  let at = 0;
  const readVarint = (): number | undefined => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= message.length) return undefined;
      const byte = message[at++];
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    return undefined;
  };
  while (at < message.length) {
    const tag = readVarint();
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) return undefined;
    let skip = 0;
    if (wireType === 0) {
      const value = readVarint();
      if (value === undefined) return undefined;
      if (field === 1) status = value;
    } else if (wireType === 1) skip = 8;
    else if (wireType === 5) skip = 4;
    else if (wireType === 2) {
      const length = readVarint();
      if (length === undefined) return undefined;
      skip = length;
    } else return undefined; // groups are not in proto3
    if (at + skip > message.length) return undefined;
    at += skip;
  }
  return status;
}
