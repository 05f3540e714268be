// One body being compressed, in either direction: chunks go into a node:zlib compressor (each
// flushed on its own), compressed chunks come out in order, trailers wait for the compressed end,
// and the input queue's watermark says when the sender should pause.
import type { Transform } from 'node:stream';
import type { HeaderMap } from '../../../codec/index.ts';
import type { CompressorLibrary } from '../../../config/model.ts';
import { createCompressor } from './libraries.ts';

/** Where the compressed body goes. */
export interface CompressedSink {
  data(chunk: Buffer): void;
  /** The compressed body ended; trailers if they ended the stream. */
  end(trailers: HeaderMap | undefined): void;
  /** More input waits than the queue should hold (true), or it drained (false). */
  backedUp(above: boolean): void;
  error(): void;
}

export class StreamingCompressor {
  private readonly compressor: Transform;
  private readonly sink: CompressedSink;
  private trailers: HeaderMap | undefined = undefined;
  private above = false;

  constructor(library: CompressorLibrary, queueBytes: number, sink: CompressedSink) {
    this.sink = sink;
    this.compressor = createCompressor(library, queueBytes);
    this.compressor.on('data', (chunk: Buffer) => sink.data(chunk));
    this.compressor.on('drain', () => this.lower());
    this.compressor.on('end', () => {
      // No 'drain' comes once the input has ended.
      this.lower();
      sink.end(this.trailers);
    });
    this.compressor.on('error', () => sink.error());
  }

  write(data: Buffer, endStream: boolean): void {
    if (data.length > 0 && !this.compressor.write(data) && !this.above) {
      this.above = true;
      this.sink.backedUp(true);
    }
    if (endStream) this.compressor.end();
  }

  /** Trailers end the body: they follow the compressed end. */
  endWithTrailers(trailers: HeaderMap): void {
    this.trailers = trailers;
    this.compressor.end();
  }

  destroy(): void {
    this.compressor.destroy();
  }

  private lower(): void {
    if (!this.above) return;
    this.above = false;
    this.sink.backedUp(false);
  }
}
