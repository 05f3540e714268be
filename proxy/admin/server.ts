// The admin listener (bootstrap admin.address): a small node:http server in the primary that
// routes each path to one handler. Mutating endpoints take POST only, as Envoy's.
import { createRequire } from 'node:module';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { SocketAddress } from '../config/model.ts';
import { type AdminContext, type AdminHandler, type AdminResponse, type AdminStreamHandler, type AdminStreamResponse, text } from './context.ts';
import { clusters } from './handlers/clusters.ts';
import { certs } from './handlers/certs.ts';
import { configDump } from './handlers/config-dump.ts';
import { dashboardEvents, dashboardPage } from './handlers/dashboard.ts';
import { explainHandler } from './handlers/explain.ts';
import { homePage } from './handlers/home.ts';
import { healthCheckFail } from './handlers/healthcheck-fail.ts';
import { healthCheckOk } from './handlers/healthcheck-ok.ts';
import { drainListeners, quitQuitQuit, reopenLogs } from './handlers/lifecycle.ts';
import { listeners } from './handlers/listeners.ts';
import { ready } from './handlers/ready.ts';
import { runtimeGet, runtimeModify } from './handlers/runtime.ts';
import { serverInfo } from './handlers/server-info.ts';
import { stats, statsPrometheus } from './handlers/stats.ts';

// Required, not ESM-imported: an ESM import of node:http reads every export, and its lazy
// WebSocket/fetch getters load undici, node:tls, node:http2 and node:zlib (~13 MB of RSS).
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

interface Endpoint {
  handler: AdminHandler | AdminStreamHandler;
  mutates: boolean;
  help: string;
}

const ENDPOINTS: Record<string, Endpoint> = {
  '/ready': { handler: ready, mutates: false, help: 'print server state, return 200 if LIVE, otherwise return 503' },
  '/server_info': { handler: serverInfo, mutates: false, help: 'print server version/status information' },
  '/stats': { handler: stats, mutates: false, help: 'print server stats (?format=json, ?filter=REGEX, ?usedonly)' },
  '/stats/prometheus': { handler: statsPrometheus, mutates: false, help: 'print server stats in prometheus format' },
  '/clusters': { handler: clusters, mutates: false, help: 'upstream cluster status (?format=json)' },
  '/certs': { handler: certs, mutates: false, help: 'print certs on machine' },
  '/config_dump': { handler: configDump, mutates: false, help: 'dump current Legate configs' },
  '/dashboard': { handler: dashboardPage, mutates: false, help: 'live dashboard: listeners, clusters, xDS and workers, updated every second' },
  '/dashboard/events': { handler: dashboardEvents, mutates: false, help: "the dashboard's frames (server-sent events, one a second while a client is connected)" },
  '/explain': { handler: explainHandler, mutates: false, help: 'what the proxy would do with one request (?url=, &method=, &header=name:value, &listener=, &source=)' },
  '/listeners': { handler: listeners, mutates: false, help: 'print listener info (?format=json)' },
  '/runtime': { handler: runtimeGet, mutates: false, help: 'print runtime values (layers and entries, JSON)' },
  '/runtime_modify': { handler: runtimeModify, mutates: true, help: 'set runtime values in the admin layer (?key=value; an empty value removes the key)' },
  '/quitquitquit': { handler: quitQuitQuit, mutates: true, help: 'drain and exit the server' },
  '/healthcheck/fail': { handler: healthCheckFail, mutates: true, help: 'cause the server to fail health checks' },
  '/healthcheck/ok': { handler: healthCheckOk, mutates: true, help: 'cause the server to pass health checks' },
  '/drain_listeners': { handler: drainListeners, mutates: true, help: 'stop accepting on all listeners' },
  '/reopen_logs': { handler: reopenLogs, mutates: true, help: 'reopen access logs (after log rotation)' },
};

export class AdminServer {
  private readonly server: Server;
  private readonly ctx: AdminContext;

  constructor(ctx: AdminContext, log: (line: string) => void) {
    this.ctx = ctx;
    this.server = http.createServer((req, res) => {
      this.handle(req).then(
        (r) => {
          res.writeHead(r.status, { 'content-type': r.contentType, 'cache-control': 'no-cache, max-age=0' });
          if ('body' in r) return res.end(r.body);
          res.flushHeaders();
          r.open({ write: (chunk) => res.write(chunk), buffered: () => res.writableLength, onClose: (listener) => res.once('close', listener) });
        },
        (err: Error) => {
          log(`admin ${req.url}: ${err.message}`);
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`${err.message}\n`);
        },
      );
    });
  }

  /** Each new connection takes a place under the global connection limit, or is closed at once. */
  admitConnections(limit: { tryAcquire(): boolean; release(): void }): void {
    this.server.prependListener('connection', (socket: Socket) => {
      if (!limit.tryAcquire()) {
        socket.destroy();
        return;
      }
      socket.once('close', () => limit.release());
    });
  }

  listen(address: SocketAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (err) => reject(new Error(`admin: cannot bind ${address.address}:${address.port}: ${err.message}`)));
      this.server.listen(address.port, address.address, () => resolve());
    });
  }

  address(): { address: string; port: number } {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? { address: a.address, port: a.port } : { address: '', port: 0 };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<AdminResponse | AdminStreamResponse> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = req.method ?? 'GET';
    if (url.pathname === '/') return homePage(Object.entries(ENDPOINTS).map(([path, e]) => ({ path, help: e.help, mutates: e.mutates })));
    if (url.pathname === '/help') {
      return text(['admin commands are:', ...Object.entries(ENDPOINTS).map(([p, e]) => `  ${p}: ${e.help}`)].join('\n') + '\n');
    }
    const endpoint = ENDPOINTS[url.pathname];
    if (endpoint === undefined) return text(`invalid path: ${url.pathname}. Try /help\n`, 404);
    if (endpoint.mutates && method !== 'POST') return text('This endpoint requires POST\n', 405);
    return endpoint.handler(this.ctx, { method, url });
  }
}
