// Moves bytes between a downstream and an upstream socket as Envoy's tcp_proxy does: each side's
// reads pause while the other side's write buffer is full (so a slow reader never makes Legate
// buffer without bound), a FIN is passed on as a FIN (half-close both ways), a downstream that
// goes away lets the upstream flush what it still holds, and an upstream that goes away closes
// the downstream once its pending bytes are written. One idle timer covers both directions.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** What a relay reports, for stats; every method is called on the hot path, so keep them cheap. */
export interface RelayObserver {
  downstreamBytes(n: number): void; // read from downstream, written upstream
  upstreamBytes(n: number): void; // read from upstream, written downstream
  downstreamReadPaused(paused: boolean): void;
  upstreamReadPaused(paused: boolean): void;
  /** The downstream closed while the upstream still had bytes to write: true at start, false at end. */
  upstreamFlushing(active: boolean): void;
  idleTimeout(): void;
}

/**
 * Takes the start of what one side sends before the rest is relayed (Istio's metadata exchange
 * header): push returns what goes on, flush what is held when that side ends.
 */
export interface StreamPrefixReader {
  push(chunk: Buffer): Buffer;
  flush(): Buffer;
  readonly done: boolean;
}

export interface RelayReaders {
  downstream?: StreamPrefixReader;
  upstream?: StreamPrefixReader;
}

export class Relay {
  private readonly downstream: Socket;
  private readonly upstream: Duplex; // a socket, or a tunnel's HTTP stream (http-tunnel.ts)
  private readonly observer: RelayObserver;
  private readonly idleTimeoutMs: number;
  private readonly readers: RelayReaders;
  private lastActivity = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(downstream: Socket, upstream: Duplex, idleTimeoutMs: number, observer: RelayObserver, readers: RelayReaders = {}) {
    this.downstream = downstream;
    this.upstream = upstream;
    this.observer = observer;
    this.idleTimeoutMs = idleTimeoutMs;
    this.readers = readers;
  }

  /** Starts both directions; the sockets must be connected and allow half-open. */
  start(): void {
    const { downstream, upstream, observer } = this;
    downstream.allowHalfOpen = true;
    upstream.allowHalfOpen = true;
    this.pipe(downstream, upstream, (n) => observer.downstreamBytes(n), (p) => observer.downstreamReadPaused(p), this.readers.downstream);
    this.pipe(upstream, downstream, (n) => observer.upstreamBytes(n), (p) => observer.upstreamReadPaused(p), this.readers.upstream);
    downstream.once('close', () => {
      if (upstream.destroyed) return;
      // Envoy closes the upstream with FlushWrite: what it holds is still written, then it closes.
      if (upstream.writableLength > 0) {
        observer.upstreamFlushing(true);
        upstream.once('close', () => observer.upstreamFlushing(false));
        // Nobody is left to read an answer: like the kernel on a closed socket, reset on data.
        upstream.on('data', () => upstream.destroy());
      }
      closeAfterFlush(upstream);
    });
    upstream.once('close', () => {
      if (downstream.destroyed) this.stopIdleTimer();
      else closeAfterFlush(downstream);
    });
    downstream.once('close', () => {
      if (upstream.destroyed) this.stopIdleTimer();
    });
    // An error is followed by 'close', which is where it is handled.
    downstream.on('error', ignore);
    upstream.on('error', ignore);
    if (this.idleTimeoutMs > 0) this.idleTimer = setTimeout(() => this.checkIdle(), this.idleTimeoutMs);
    downstream.resume();
    upstream.resume();
  }

  /** Closes both sides now, dropping what is buffered (Envoy's NoFlush local close). */
  destroy(): void {
    this.stopIdleTimer();
    this.downstream.destroy();
    this.upstream.destroy();
  }

  private pipe(from: Duplex, to: Duplex, count: (n: number) => void, paused: (p: boolean) => void, reader?: StreamPrefixReader): void {
    let reading = true;
    from.on('data', (data: Buffer) => {
      const chunk = reader === undefined || reader.done ? data : reader.push(data);
      if (chunk.length === 0) return;
      count(chunk.length);
      this.lastActivity = performance.now();
      if (to.destroyed || to.writableEnded) return; // the other side is gone: dropped, as the kernel would
      if (!to.write(chunk) && reading) {
        reading = false;
        from.pause();
        paused(true);
      }
    });
    to.on('drain', () => {
      this.lastActivity = performance.now();
      if (!reading) {
        reading = true;
        from.resume();
        paused(false);
      }
    });
    // Half-close: the peer's FIN becomes our FIN on the other side, after what is buffered.
    from.once('end', () => {
      if (to.destroyed || to.writableEnded) return;
      const held = reader === undefined || reader.done ? undefined : reader.flush();
      if (held !== undefined && held.length > 0) to.write(held);
      to.end();
    });
  }

  private checkIdle(): void {
    const idleFor = performance.now() - this.lastActivity;
    if (idleFor >= this.idleTimeoutMs) {
      this.idleTimer = undefined;
      this.observer.idleTimeout();
      this.destroy();
      return;
    }
    this.idleTimer = setTimeout(() => this.checkIdle(), this.idleTimeoutMs - idleFor);
  }

  private stopIdleTimer(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

function ignore(): void {}

/** Envoy's FlushWrite close: write what is buffered, then close the whole connection. */
export function closeAfterFlush(socket: Duplex): void {
  if (socket.destroyed) return;
  if (!socket.writableEnded) socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}
