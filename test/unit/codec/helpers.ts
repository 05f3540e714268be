// Shared pieces of the codec tests: a loopback server running Http1ServerConnection with a small
// recording owner, and a raw client that writes exact bytes and collects what comes back.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { Http1ServerConnection } from '../../../proxy/codec/index.ts';
import type {
  CodecError,
  HeaderMap,
  RequestDecoder,
  RequestHeaders,
  ResponseDecoder,
  ResponseEncoder,
  ResponseHeaders,
  ServerConnectionCallbacks,
  StreamCallbacks,
  StreamResetReason,
} from '../../../proxy/codec/index.ts';

/** One request as the owner saw it; also its decoder and stream callbacks. */
export class SeenRequest implements RequestDecoder, StreamCallbacks {
  readonly encoder: ResponseEncoder;
  readonly owner: TestOwner;
  head: RequestHeaders | null = null;
  headEndStream = false;
  chunks: Buffer[] = [];
  bodyBytes = 0;
  ended = false;
  trailers: HeaderMap | null = null;
  error: CodecError | null = null;
  resets: string[] = [];
  above = 0;
  below = 0;
  /** Keeps chunks (off for big bodies). */
  keep = true;

  constructor(encoder: ResponseEncoder, owner: TestOwner) {
    this.encoder = encoder;
    this.owner = owner;
    encoder.stream.setCallbacks(this);
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  decodeHeaders(headers: RequestHeaders, endStream: boolean): void {
    this.head = headers;
    this.headEndStream = endStream;
    this.ended = endStream;
    this.owner.onHeaders(this);
    if (endStream) this.owner.onEnd(this);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (this.keep) this.chunks.push(data);
    this.bodyBytes += data.length;
    this.owner.onData(this, data);
    if (endStream) {
      this.ended = true;
      this.owner.onEnd(this);
    }
  }

  decodeTrailers(trailers: HeaderMap): void {
    this.trailers = trailers;
    this.ended = true;
    this.owner.onEnd(this);
  }

  onResetStream(reason: StreamResetReason, details: string): void {
    this.resets.push(`${reason} ${details}`);
  }

  onAboveWriteBufferHighWatermark(): void {
    this.above++;
  }

  onBelowWriteBufferLowWatermark(): void {
    this.below++;
  }

  /** A small complete response with a content-length. */
  reply(status: number, body = '', headers: HeaderMap = {}): void {
    this.encoder.encodeHeaders({ status, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, body === '');
    if (body !== '') this.encoder.encodeData(Buffer.from(body), true);
  }
}

/**
 * The layer above the codec, reduced to what tests need: by default it answers each request once
 * it has ended with `200 <method> <path> <body length>`; tests override the hooks.
 */
export class TestOwner implements ServerConnectionCallbacks {
  requests: SeenRequest[] = [];
  errors: CodecError[] = [];
  onHeaders: (req: SeenRequest) => void = () => {};
  onData: (req: SeenRequest, data: Buffer) => void = () => {};
  onEnd: (req: SeenRequest) => void = (req) => req.reply(200, `${req.head?.method} ${req.head?.path} ${req.bodyBytes}`);
  /** Answers a protocol error with its status (Envoy's local reply), or resets when the response started. */
  onError: (req: SeenRequest, error: CodecError) => void = (req, error) => {
    if (req.encoder.headersSent) req.encoder.stream.resetStream('local-reset');
    else req.reply(error.status, error.details);
  };

  newStream(encoder: ResponseEncoder): RequestDecoder {
    const req = new SeenRequest(encoder, this);
    this.requests.push(req);
    return req;
  }

  onProtocolError(decoder: RequestDecoder, error: CodecError): void {
    this.errors.push(error);
    const req = decoder as SeenRequest;
    req.error = error;
    this.onError(req, error);
  }
}

export interface CodecServer {
  port: number;
  owners: TestOwner[];
  connections: Http1ServerConnection[];
}

/** A loopback server whose every connection runs the codec with a fresh owner from `makeOwner`. */
export async function codecServer(t: Test, makeOwner: () => TestOwner = () => new TestOwner(), options: Partial<{ maxRequestHeadersKb: number; maxHeadersCount: number }> = {}): Promise<CodecServer> {
  const owners: TestOwner[] = [];
  const connections: Http1ServerConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const owner = makeOwner();
    owners.push(owner);
    connections.push(new Http1ServerConnection(socket, owner, { maxRequestHeadersKb: 60, maxHeadersCount: 100, scheme: 'http', ...options }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, owners, connections };
}

/** A raw TCP client that keeps every byte it receives. */
export class RawClient {
  readonly socket: net.Socket;
  private buffers: Buffer[] = [];
  received = 0;
  /** Resolves once the server closed or reset the connection (FIN or RST). */
  closed: Promise<void>;
  ended = false;
  private waiters: (() => void)[] = [];

  constructor(port: number, t: Test) {
    this.socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => {
      this.buffers.push(chunk);
      this.received += chunk.length;
      this.wake();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      this.socket.once('end', resolve);
      this.socket.once('close', resolve);
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    t.teardown(() => this.socket.destroy());
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  get text(): string {
    if (this.buffers.length > 1) this.buffers = [Buffer.concat(this.buffers)];
    return this.buffers[0]?.toString('latin1') ?? '';
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Resolves when `check` holds on what was received (checked on every read), or rejects at the deadline. */
  async until(what: string, check: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.text;
      if (check(text)) return text;
      if (this.socket.destroyed && this.ended) throw new Error(`connection closed while waiting for ${what}; got ${JSON.stringify(text.slice(-300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(text.slice(-300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves when the server closed its side (FIN seen), with everything received. */
  async untilEnd(timeoutMs = 5000): Promise<string> {
    return this.until('the server to close', () => this.ended, timeoutMs);
  }
}

/** Number of complete responses (status lines) in `text`. */
export function countResponses(text: string): number {
  return text.split('HTTP/1.1 ').length - 1;
}

/** Polls `check` (up to a deadline) for state no event reports directly. */
export async function eventually(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Records one response of a client codec: its head, body, trailers, resets and watermarks. */
export class SeenResponse implements ResponseDecoder, StreamCallbacks {
  informational: ResponseHeaders[] = [];
  head: ResponseHeaders | null = null;
  headEndStream = false;
  chunks: Buffer[] = [];
  trailers: HeaderMap | null = null;
  ended = false;
  /** `reason: details` of each reset. */
  resets: string[] = [];
  above = 0;
  below = 0;
  done: Promise<void>;
  private finish!: () => void;

  constructor() {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString();
  }

  decode1xxHeaders(headers: ResponseHeaders): void {
    this.informational.push(headers);
  }

  decodeHeaders(headers: ResponseHeaders, endStream: boolean): void {
    this.head = headers;
    this.headEndStream = endStream;
    if (endStream) this.end();
  }

  decodeData(data: Buffer, endStream: boolean): void {
    this.chunks.push(data);
    if (endStream) this.end();
  }

  decodeTrailers(trailers: HeaderMap): void {
    this.trailers = trailers;
    this.end();
  }

  onResetStream(reason: StreamResetReason, details: string): void {
    this.resets.push(`${reason}: ${details}`);
    this.finish();
  }

  /** The reset reasons alone. */
  get resetReasons(): string[] {
    return this.resets.map((r) => r.slice(0, r.indexOf(':')));
  }

  onAboveWriteBufferHighWatermark(): void {
    this.above++;
  }

  onBelowWriteBufferLowWatermark(): void {
    this.below++;
  }

  private end(): void {
    this.ended = true;
    this.finish();
  }
}
