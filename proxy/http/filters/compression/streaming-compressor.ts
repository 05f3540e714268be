// One body through a node:zlib transform, in either direction: chunks go in, the transformed
// chunks come out in order, trailers wait for the transformed end, and the input queue's watermark
// says when the sender should pause. StreamingCompressor compresses (each chunk flushed on its
// own); the decompressor filter's StreamingDecompressor (streaming-decompressor.ts) inflates.
import type { Transform } from 'node:stream';
import type { HeaderMap } from '../../../codec/index.ts';
import type { CompressorLibrary } from '../../../config/model.ts';
import { createCompressor } from './libraries.ts';

/** Where the transformed body goes. */
export interface BodySink {
  data(chunk: Buffer): void;
  /** The transformed body ended; trailers if they ended the stream. */
  end(trailers: HeaderMap | undefined): void;
  /** More input waits than the queue should hold (true), or it drained (false). */
  backedUp(above: boolean): void;
  error(err: Error): void;
}

/** Where the compressed body goes. */
export type CompressedSink = BodySink;

export class StreamingTransform {
  protected readonly transform: Transform;
  private readonly sink: BodySink;
  private trailers: HeaderMap | undefined = undefined;
  private above = false;

  constructor(transform: Transform, sink: BodySink) {
    this.sink = sink;
    this.transform = transform;
    transform.on('data', (chunk: Buffer) => this.output(chunk));
    transform.on('drain', () => this.lower());
    transform.on('end', () => {
      // No 'drain' comes once the input has ended.
      this.lower();
      sink.end(this.trailers);
    });
    transform.on('error', (err: Error) => this.failure(err));
  }

  write(data: Buffer, endStream: boolean): void {
    if (data.length > 0 && !this.transform.write(data) && !this.above) {
      this.above = true;
      this.sink.backedUp(true);
    }
    if (endStream) this.transform.end();
  }

  /** Trailers end the body: they follow the transformed end. */
  endWithTrailers(trailers: HeaderMap): void {
    this.trailers = trailers;
    this.transform.end();
  }

  /**
   * The receiver is backed up: no more output for now. The transform stops once its output queue
   * is full, its input then waits, and the input watermark holds the sender back.
   */
  pause(): void {
    this.transform.pause();
  }

  resume(): void {
    this.transform.resume();
  }

  destroy(): void {
    this.transform.destroy();
  }

  protected output(chunk: Buffer): void {
    this.sink.data(chunk);
  }

  protected failure(err: Error): void {
    this.sink.error(err);
  }

  /** Lowers a raised input watermark (the queue drained, or the body is over). */
  protected lower(): void {
    if (!this.above) return;
    this.above = false;
    this.sink.backedUp(false);
  }
}

export class StreamingCompressor extends StreamingTransform {
  constructor(library: CompressorLibrary, queueBytes: number, sink: CompressedSink) {
    super(createCompressor(library, queueBytes), sink);
  }
}
