// gRPC active health checking, as Envoy's gRPC health checker: a unary grpc.health.v1.Health/Check
// over HTTP/2 (h2c, or TLS with ALPN h2 when the cluster has a transport socket), on one
// connection kept across checks. Healthy only on HTTP 200 with grpc-status 0 and a response whose
// status is SERVING; any other answer is a 'failure' (Envoy's ACTIVE: unhealthy at once). A reset,
// a GOAWAY with an error, a lost connection or the timeout is a 'network-failure'.
import { createRequire } from 'node:module';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader, OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HeaderValueOption, HealthCheck } from '../config/model.ts';
import { formatGrpcTimeout, GrpcStatus, grpcStatusOf, hasGrpcContentType } from '../grpc/index.ts';
import { healthCheckRequestFrame, HealthResponseReader, SERVING } from './grpc-health-message.ts';
import { once, type Probe, type ProbeResult, type ProbeTarget, type ProbeTls } from './health-probe.ts';

type NodeHttp2 = typeof import('node:http2');
let loaded: NodeHttp2 | undefined;

// Loaded on first use: workers import upstream/ but never run health checks.
function nodeHttp2(): NodeHttp2 {
  loaded ??= createRequire(import.meta.url)('node:http2') as NodeHttp2;
  return loaded;
}

type GrpcCheck = Extract<HealthCheck['check'], { kind: 'grpc' }>;

const NGHTTP2_CANCEL = 8;
const END_STREAM = 0x1;

export class GrpcProbe implements Probe {
  private readonly target: ProbeTarget;
  private readonly tls: ProbeTls | undefined;
  private readonly headers: OutgoingHttpHeaders;
  private readonly request: Buffer;
  private connection: Promise<ClientHttp2Session> | undefined;
  private handshaking: TLSSocket | undefined; // a TLS connection not yet verified, dropped on close()

  constructor(check: GrpcCheck, target: ProbeTarget, tls?: ProbeTls) {
    this.target = target;
    this.tls = tls;
    // The same request every time: built once.
    this.headers = withMetadata(
      {
        ':method': 'POST',
        ':path': '/grpc.health.v1.Health/Check',
        ':authority': target.hostHeader,
        'content-type': 'application/grpc',
        te: 'trailers',
        'user-agent': 'Envoy/HC',
      },
      check.initialMetadata,
    );
    this.request = healthCheckRequestFrame(check.serviceName);
  }

  run(timeoutMs: number): Promise<ProbeResult> {
    let session: ClientHttp2Session | undefined;
    let stream: ClientHttp2Stream | undefined;
    return once(
      timeoutMs,
      // Envoy resets the stream and keeps the connection; one not yet established is dropped.
      () => (stream === undefined || session?.connecting === true ? this.close() : stream.close(NGHTTP2_CANCEL)),
      (done) => {
        this.connect().then(
          (connected) => {
            session = connected;
            stream = this.check(connected, timeoutMs, done);
          },
          () => done('network-failure'),
        );
      },
    );
  }

  close(): void {
    this.handshaking?.destroy();
    this.handshaking = undefined;
    void this.connection?.then((session) => session.destroy(), () => {});
    this.connection = undefined;
  }

  /** One Check call on the session; `done` hears its result. */
  private check(session: ClientHttp2Session, timeoutMs: number, done: (r: ProbeResult) => void): ClientHttp2Stream | undefined {
    const headers = timeoutMs > 0 ? { ...this.headers, 'grpc-timeout': formatGrpcTimeout(timeoutMs) } : this.headers;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch {
      done('network-failure'); // the session closed or went away before this check
      return undefined;
    }
    const reader = new HealthResponseReader();
    let grpcStatus: number | undefined;
    // A wrong answer ends the check at once; the stream is then cancelled.
    const fail = (): void => {
      done('failure');
      stream.close(NGHTTP2_CANCEL);
    };
    stream.once('response', (h: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number) => {
      // Trailers-only (the headers end the stream) carries no message: never healthy.
      if (h[':status'] !== 200 || !hasGrpcContentType(h['content-type']) || (flags & END_STREAM) !== 0) fail();
    });
    stream.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      if (reader.error !== undefined) fail();
    });
    stream.once('trailers', (trailers: IncomingHttpHeaders) => {
      grpcStatus = grpcStatusOf(trailers);
    });
    stream.once('end', () => done(grpcStatus === GrpcStatus.Ok && reader.status === SERVING ? 'success' : 'failure'));
    stream.once('error', () => done('network-failure'));
    stream.once('close', () => done('network-failure'));
    stream.end(this.request);
    return stream;
  }

  /** The connection kept across checks, opened again once it is gone. */
  private connect(): Promise<ClientHttp2Session> {
    this.connection ??= this.open().then(
      (session) => {
        session.on('error', () => {}); // each stream settles its check
        // A GOAWAY without error lets the check in flight finish; either way the next check reconnects.
        session.on('goaway', (code: number) => {
          this.forget(session);
          if (code === 0) session.close();
          else session.destroy();
        });
        session.once('close', () => this.forget(session));
        session.unref(); // an idle check connection does not keep the process alive
        return session;
      },
      (err: unknown) => {
        this.connection = undefined;
        throw err;
      },
    );
    return this.connection;
  }

  private forget(session: ClientHttp2Session): void {
    void this.connection?.then((current) => {
      if (current === session) this.connection = undefined;
    }, () => {});
  }

  /**
   * h2c at once; over TLS, the session starts only on a handshake that passed the cluster's
   * certificate checks (a server failing them is a network failure, as for traffic).
   */
  private open(): Promise<ClientHttp2Session> {
    const { ip, port } = this.target;
    const tls = this.tls;
    const host = net.isIPv6(ip) ? `[${ip}]` : ip;
    if (tls === undefined) {
      return Promise.resolve(nodeHttp2().connect(`http://${host}:${port}`, { createConnection: () => net.connect({ host: ip, port }) }));
    }
    return new Promise((resolve, reject) => {
      const socket = tls.connect(ip, port, ['h2']);
      this.handshaking = socket;
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('connection closed')));
      socket.once('secureConnect', () => {
        this.handshaking = undefined;
        if (!tls.verified(socket)) {
          socket.destroy();
          reject(new Error('TLS verification failed'));
          return;
        }
        resolve(nodeHttp2().connect(`https://${host}:${port}`, { createConnection: () => socket }));
      });
    });
  }
}

/**
 * grpc_health_check.initial_metadata over the request's headers, as Envoy's HeaderParser: each
 * option is decided against the headers before any is added, then overwrites, then appends.
 */
function withMetadata(base: OutgoingHttpHeaders, metadata: HeaderValueOption[]): OutgoingHttpHeaders {
  const headers: Record<string, string | string[]> = { ...(base as Record<string, string>) };
  const decided = metadata.filter((m) => {
    if (m.value === '' && !m.keepEmptyValue) return false;
    if (m.appendAction === 'ADD_IF_ABSENT') return headers[m.key] === undefined;
    if (m.appendAction === 'OVERWRITE_IF_EXISTS') return headers[m.key] !== undefined;
    return true;
  });
  for (const m of decided) if (m.appendAction !== 'APPEND_IF_EXISTS_OR_ADD') headers[m.key] = m.value;
  for (const m of decided) {
    if (m.appendAction !== 'APPEND_IF_EXISTS_OR_ADD') continue;
    const current = headers[m.key];
    headers[m.key] = current === undefined ? m.value : [...(Array.isArray(current) ? current : [current]), m.value];
  }
  return headers;
}
