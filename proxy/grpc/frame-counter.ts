// Counts the gRPC messages in a stream of body chunks (Envoy's Grpc::FrameInspector): each message
// is a 5-byte prefix (a flag byte, a 4-byte big-endian length) and that many bytes, split across
// chunks however the transport delivers them. A message counts once its prefix has started.

export class GrpcFrameCounter {
  /** Messages seen so far. */
  count = 0;
  private headerLeft = 0; // prefix bytes still to read (0: at a message boundary or in a payload)
  private length = 0; // the payload length being read from the prefix
  private payloadLeft = 0;

  /** Reads a chunk; returns how many messages began in it. */
  inspect(chunk: Buffer): number {
    const before = this.count;
    let i = 0;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= take;
        i += take;
      } else if (this.headerLeft === 0) {
        // A new message: its flag byte.
        this.count++;
        this.headerLeft = 4;
        this.length = 0;
        i++;
      } else {
        this.length = this.length * 256 + chunk[i++];
        if (--this.headerLeft === 0) this.payloadLeft = this.length;
      }
    }
    return this.count - before;
  }
}
