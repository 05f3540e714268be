// The upstream every target forwards to, run in its own process: HTTP listeners (several, for
// the weighted split) answering by request, and a TCP byte source.
//   GET /1m...            1 MiB body
//   GET anything else     64 B body
//   POST                  the request body echoed back
//   x-bench-attempt: KEY  first request with KEY gets 503, the next one the normal answer
// On IPC {type:'counts'} it replies with the requests served per listener since the last ask.
import http from 'node:http';
import net from 'node:net';
import { ATTEMPT_HEADER } from './scenarios.ts';

export interface UpstreamConfig {
  httpListeners: number;
}

export interface UpstreamReady {
  type: 'ready';
  http: number[];
  tcp: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as UpstreamConfig;
const SMALL = Buffer.alloc(64, 'a');
const LARGE = Buffer.alloc(1024 * 1024, 'b');
const TCP_CHUNK = Buffer.alloc(64 * 1024, 'c');
// Keys that got their 503; bounded in case a proxy never retries.
const failedOnce = new Set<string>();
const MAX_PENDING_KEYS = 100_000;
const counts: number[] = [];

function answer(index: number): http.RequestListener {
  return (req, res) => {
    counts[index]++;
    if (req.method === 'POST') {
      const length = req.headers['content-length'];
      res.writeHead(200, length ? { 'content-type': 'application/octet-stream', 'content-length': length } : {});
      req.pipe(res);
      return;
    }
    const key = req.headers[ATTEMPT_HEADER];
    if (typeof key === 'string' && !failedOnce.delete(key)) {
      if (failedOnce.size >= MAX_PENDING_KEYS) failedOnce.clear();
      failedOnce.add(key);
      res.writeHead(503, { 'content-type': 'text/plain', 'content-length': 5 });
      res.end('retry');
      return;
    }
    const body = req.url?.startsWith('/1m') ? LARGE : SMALL;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  };
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function streamForever(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.resume(); // a sink for anything the client sends
  const fill = () => {
    while (!socket.destroyed && socket.write(TCP_CHUNK));
  };
  socket.on('drain', fill);
  fill();
}

const httpPorts: number[] = [];
for (let index = 0; index < Math.max(1, config.httpListeners); index++) {
  counts.push(0);
  // Long keep-alive so that proxies' idle pooled connections are not closed under them mid-run.
  const server = http.createServer({ keepAliveTimeout: 120_000, headersTimeout: 121_000 }, answer(index));
  httpPorts.push(await listen(server));
}
const tcpPort = await listen(net.createServer(streamForever));

process.on('message', (message: { type: string }) => {
  if (message.type === 'counts') {
    process.send?.({ type: 'counts', counts: [...counts] });
    counts.fill(0);
  }
});
// The bench is gone: so are we.
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', http: httpPorts, tcp: tcpPort } satisfies UpstreamReady);
