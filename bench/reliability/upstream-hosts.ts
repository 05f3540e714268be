// The upstream hosts of the chaos and soak runs: N HTTP servers on loopback, each answering with
// its own name, that a run can make fail (stop listening and cut every connection, so new ones are
// refused) and recover (listen again on the same port).
//   GET /1m...   1 MiB body
//   GET other    a small body naming the host
//   POST         the request body echoed back
//   upgrade /ws  a websocket echoing every message
//   x-fail-once: KEY  the first request with KEY (on any host) gets 503, the next the normal answer
import http from 'node:http';
import type net from 'node:net';
import { WebSocketServer } from 'ws';

const LARGE = Buffer.alloc(1024 * 1024, 'b');
const FAIL_ONCE_HEADER = 'x-fail-once';
// Keys that got their 503, shared by the hosts (a retry goes to another one); bounded in case a
// retry never comes.
const failedOnce = new Set<string>();
const MAX_PENDING_KEYS = 10_000;

class Host {
  readonly index: number;
  port = 0;
  readonly #server: http.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #ws = new WebSocketServer({ noServer: true });

  constructor(index: number) {
    this.index = index;
    const name = `host-${index}`;
    // Long keep-alive so the proxy's pooled connections are not closed under it mid-run.
    this.#server = http.createServer({ keepAliveTimeout: 120_000, headersTimeout: 121_000 }, (req, res) => {
      res.setHeader('x-host', name);
      if (req.method === 'POST') {
        const length = req.headers['content-length'];
        res.writeHead(200, { 'content-type': 'application/octet-stream', ...(length ? { 'content-length': length } : {}) });
        req.pipe(res);
        return;
      }
      req.resume();
      const key = req.headers[FAIL_ONCE_HEADER];
      if (typeof key === 'string' && !failedOnce.delete(key)) {
        if (failedOnce.size >= MAX_PENDING_KEYS) failedOnce.clear();
        failedOnce.add(key);
        res.writeHead(503, { 'content-type': 'text/plain', 'content-length': 6 });
        res.end('retry\n');
        return;
      }
      const body = req.url?.startsWith('/1m') ? LARGE : Buffer.from(`${name}\n`);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
    this.#server.on('connection', (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('upgrade', (req, socket: net.Socket, head) => {
      this.#ws.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, binary) => ws.send(data, { binary }));
        ws.on('error', () => ws.terminate());
      });
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        this.port = (this.#server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  /** Stops listening (new connections are refused) and cuts every open connection. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    for (const client of this.#ws.clients) client.terminate();
    return closed;
  }
}

export class UpstreamHosts {
  readonly #hosts: Host[];

  private constructor(hosts: Host[]) {
    this.#hosts = hosts;
  }

  static async start(count: number): Promise<UpstreamHosts> {
    const hosts = Array.from({ length: count }, (_, i) => new Host(i));
    for (const host of hosts) await host.listen();
    return new UpstreamHosts(hosts);
  }

  get ports(): number[] {
    return this.#hosts.map((h) => h.port);
  }

  fail(index: number): Promise<void> {
    return this.#hosts[index].close();
  }

  recover(index: number): Promise<void> {
    return this.#hosts[index].listen();
  }

  async close(): Promise<void> {
    await Promise.all(this.#hosts.map((h) => h.close()));
  }
}
