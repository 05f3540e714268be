// One active health check on one host, as Envoy's HTTP and TCP health checkers do it (gRPC's is
// grpc-health-probe.ts). A probe answers 'success', 'failure' (the host answered wrongly: an HTTP
// status outside expected_statuses) or 'network-failure' (no connection, reset, timeout, TCP
// payload not seen).
import type { Agent, ClientRequest } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { HealthCheck, UpstreamTlsContext } from '../config/model.ts';
import type { SecureContext, TLSSocket } from 'node:tls';
import { buildSecureContext, verifyPeer } from '../transport/index.ts';
import { nodeTls } from '../transport/node-tls.ts';

// Required when the first HTTP probe is made, not imported: an ESM import of node:http reads all
// its exports, whose lazy WebSocket getters load tls, http2 and zlib, and even a require loads its
// client and server (~2.6 MB) into every worker, with or without health checks.
let http: typeof import('node:http') | undefined;
const nodeHttp = () => (http ??= createRequire(import.meta.url)('node:http') as typeof import('node:http'));

export type ProbeResult = 'success' | 'failure' | 'network-failure';

export interface ProbeTarget {
  ip: string;
  port: number; // the endpoint's health_check_config.port_value, else its own port
  hostHeader: string; // http_health_check.host or grpc_health_check.authority, else the cluster name (as Envoy)
}

export interface Probe {
  run(timeoutMs: number): Promise<ProbeResult>;
  close(): void;
}

/** `tls`: the cluster's transport socket; probes go over TLS as the cluster's traffic does (Envoy). */
export function createProbe(check: HttpCheck | TcpCheck, target: ProbeTarget, tls?: UpstreamTlsContext): Probe {
  const secure = tls === undefined ? undefined : new ProbeTls(tls);
  return check.kind === 'http' ? new HttpProbe(check, target, secure) : new TcpProbe(check, target, secure);
}

/** TLS for one probe: the cluster's context and the same server certificate checks as its traffic. */
export class ProbeTls {
  readonly config: UpstreamTlsContext;
  readonly secureContext: SecureContext;

  constructor(config: UpstreamTlsContext) {
    this.config = config;
    this.secureContext = buildSecureContext(config);
  }

  /** `alpn`: the protocols to offer (gRPC checks offer h2). */
  connect(ip: string, port: number, alpn?: string[]): TLSSocket {
    return nodeTls().connect({
      host: ip,
      port,
      secureContext: this.secureContext,
      ALPNProtocols: alpn,
      servername: this.config.sni === '' ? undefined : this.config.sni,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
  }

  verified(socket: TLSSocket): boolean {
    return verifyPeer(socket, this.config.validation, true).ok;
  }
}

type HttpCheck = Extract<HealthCheck['check'], { kind: 'http' }>;
type TcpCheck = Extract<HealthCheck['check'], { kind: 'tcp' }>;

/** Runs fn with a settle-once callback and an optional timeout that settles as a network failure. */
export function once(timeoutMs: number, onTimeout: () => void, fn: (done: (r: ProbeResult) => void) => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      resolve(r);
    };
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            done('network-failure');
            onTimeout();
          }, timeoutMs)
        : undefined;
    fn(done);
  });
}

class HttpProbe implements Probe {
  private readonly check: HttpCheck;
  private readonly target: ProbeTarget;
  // Envoy reuses the health check connection between checks.
  private readonly agent = new (nodeHttp().Agent)({ keepAlive: true, maxSockets: 1 });
  constructor(check: HttpCheck, target: ProbeTarget, tls?: ProbeTls) {
    this.check = check;
    this.target = target;
    if (tls !== undefined) {
      // The agent's connections are the cluster's TLS; a server failing verification is a network failure.
      // An Agent takes the socket from createConnection's callback when it returns nothing.
      const agent: Agent = this.agent;
      agent.createConnection = (_options, callback) => {
        let told = false;
        const cb = (err: Error | null, s: net.Socket): void => {
          if (!told) callback?.(err, s);
          told = true;
        };
        const socket = tls.connect(target.ip, target.port);
        socket.once('secureConnect', () => {
          if (tls.verified(socket)) cb(null, socket);
          else {
            socket.destroy();
            cb(new Error('TLS verification failed'), socket);
          }
        });
        socket.once('error', (err) => cb(err, socket));
        return undefined;
      };
    }
  }

  run(timeoutMs: number): Promise<ProbeResult> {
    let req: ClientRequest | undefined;
    return once(
      timeoutMs,
      () => req?.destroy(),
      (done) => {
        req = nodeHttp().request(
          {
            host: this.target.ip,
            port: this.target.port,
            method: this.check.method,
            path: this.check.path,
            headers: { host: this.target.hostHeader, 'user-agent': 'Envoy/HC' },
            agent: this.agent,
          },
          (res) => {
            const status = res.statusCode ?? 0;
            const expected = this.check.expectedStatuses.some((r) => status >= r.start && status < r.end);
            res.resume();
            res.once('end', () => done(expected ? 'success' : 'failure'));
            res.once('error', () => done('network-failure'));
          },
        );
        req.once('error', () => done('network-failure'));
        req.end();
      },
    );
  }

  close(): void {
    this.agent.destroy();
  }
}

class TcpProbe implements Probe {
  private readonly send: Buffer | undefined;
  private readonly receive: Buffer[];
  private readonly target: ProbeTarget;
  private readonly sockets = new Set<net.Socket>();

  private readonly tls: ProbeTls | undefined;

  constructor(check: TcpCheck, target: ProbeTarget, tls?: ProbeTls) {
    this.send = check.send === undefined ? undefined : Buffer.from(check.send, 'hex');
    this.receive = check.receive.map((hex) => Buffer.from(hex, 'hex'));
    this.target = target;
    this.tls = tls;
  }

  run(timeoutMs: number): Promise<ProbeResult> {
    const tls = this.tls;
    const socket: net.Socket = tls === undefined ? net.connect({ host: this.target.ip, port: this.target.port }) : tls.connect(this.target.ip, this.target.port);
    this.sockets.add(socket);
    let received = Buffer.alloc(0);
    const result = once(
      timeoutMs,
      () => socket.destroy(),
      (done) => {
        socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
          if (tls !== undefined && !tls.verified(socket as TLSSocket)) {
            done('network-failure');
            return;
          }
          if (this.send !== undefined) socket.write(this.send);
          if (this.receive.length === 0) done('success'); // connect-only check
        });
        socket.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          if (matches(this.receive, received)) done('success');
        });
        socket.once('error', () => done('network-failure'));
        socket.once('close', () => done('network-failure'));
      },
    );
    return result.finally(() => {
      this.sockets.delete(socket);
      socket.destroy();
    });
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
  }
}

/** Envoy's payload match: every expected block is found, in order, each after the previous. */
export function matches(expected: Buffer[], data: Buffer): boolean {
  let from = 0;
  for (const block of expected) {
    const at = data.indexOf(block, from);
    if (at === -1) return false;
    from = at + block.length;
  }
  return true;
}
