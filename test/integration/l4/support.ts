// Helpers for the L4 tests: raw TCP upstreams (echo, named greeters) on 127.0.0.1 port 0, tcp_proxy
// listener builders, a client that collects what it receives until the connection closes, and
// self-signed certificates for TLS upstreams.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketAddress, TCP_PROXY_TYPE } from '../../support/bootstrap.ts';

export interface TcpServer {
  port: number;
  /** Sockets accepted so far. */
  accepted: net.Socket[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 port 0 with half-open sockets; onSocket handles each connection. */
export async function startTcpServer(onSocket: (socket: net.Socket) => void): Promise<TcpServer> {
  const accepted: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () => {
      for (const s of accepted) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Echoes every byte and ends its side when the client ends its side (a half-close is honoured). */
export function startEchoServer(): Promise<TcpServer> {
  return startTcpServer((socket) => socket.pipe(socket));
}

/** Writes its name and closes: which upstream a connection reached. */
export function startNamedServer(name: string): Promise<TcpServer> {
  return startTcpServer((socket) => {
    socket.resume();
    socket.end(name);
  });
}

export function tcpProxyFilter(statPrefix: string, target: string | Record<string, number>, extra: object = {}) {
  const cluster =
    typeof target === 'string'
      ? { cluster: target }
      : { weighted_clusters: { clusters: Object.entries(target).map(([name, weight]) => ({ name, weight })) } };
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: statPrefix, ...cluster, ...extra } };
}

/** A listener on 127.0.0.1 port 0 with one tcp_proxy filter chain. */
export function tcpListener(name: string, target: string | Record<string, number>, tcpExtra: object = {}, listenerExtra: object = {}) {
  return {
    name,
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{ filters: [tcpProxyFilter(name, target, tcpExtra)] }],
    ...listenerExtra,
  };
}

export interface Exchange {
  data: Buffer;
  /** The peer ended its side (FIN) before the close. */
  ended: boolean;
  /** The connection was reset rather than closed cleanly. */
  error?: string;
}

/**
 * Connects, writes `send` (then ends our side if endAfter), and resolves with everything received
 * once the connection closes; rejects after timeoutMs.
 */
export function exchange(port: number, send: Buffer | string = '', opts: { endAfter?: boolean; timeoutMs?: number } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let ended = false;
    let error: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${opts.timeoutMs ?? 5000} ms; received ${Buffer.concat(chunks).length} bytes`));
    }, opts.timeoutMs ?? 5000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      ended = true;
      socket.end();
    });
    socket.on('error', (err) => (error = err.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), ended, error });
    });
    if (send.length > 0) socket.write(send);
    if (opts.endAfter ?? true) socket.end();
  });
}

/** Resolves once the peer ended or closed the connection (or rejects after timeoutMs); unread data is read. */
export function closedByPeer(socket: net.Socket, timeoutMs = 5000): Promise<void> {
  if (socket.closed || socket.readableEnded) return Promise.resolve();
  socket.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.once('end', done);
    socket.once('close', done);
  });
}

/** A connected client socket (errors recorded, not thrown). */
export async function connectClient(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

export interface TestCert {
  key: string;
  cert: string;
}

/** Why TLS tests cannot run here, or false: they need the openssl binary to make certificates. */
export function opensslMissing(): string | false {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs the openssl binary to make test certificates';
  }
}

/** A self-signed P-256 certificate for the DNS names (the first is also the CN), valid two days. */
export function selfSignedCert(names: string[]): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'legate-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' });
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
