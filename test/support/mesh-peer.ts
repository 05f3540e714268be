// An app in a mesh e2e test's "container" namespace (run via Netns.start):
//   app <name> <port,...>   HTTP on 0.0.0.0 at each port; prints {"ready":true} once listening and
//                           exits when its stdin closes.
//   GET /anything           200 {instance, peer}: peer is the connection's source address, so
//                           127.0.0.6 means the sidecar's inbound passthrough delivered it; 500 when
//                           the x-fail-instance header names this instance
//   GET /call?url=U&n=N[&host=H][&fail=I]
//                           makes N requests to U one after another (Host: H, x-fail-instance: I)
//                           and answers 200 with [{status, instance, peer, ms}]: the app's own
//                           outbound calls, which its namespace's capture sends to its sidecar
import http from 'node:http';

const [role, name, portList] = process.argv.slice(2);
if (role !== 'app' || name === undefined || portList === undefined) {
  console.error('usage: mesh-peer.ts app <name> <port,...>');
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true });

interface CallResult {
  status: number;
  instance: string | null;
  peer: string | null;
  ms: number;
}

function call(url: URL, host: string | null, fail: string | null): Promise<CallResult> {
  const start = performance.now();
  const headers: http.OutgoingHttpHeaders = {};
  if (host !== null) headers.host = host;
  if (fail !== null) headers['x-fail-instance'] = fail;
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let parsed: { instance?: string; peer?: string } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          // not one of ours: an error page from the proxy
        }
        resolve({ status: res.statusCode ?? 0, instance: parsed.instance ?? null, peer: parsed.peer ?? null, ms: Math.round(performance.now() - start) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', () => resolve({ status: 0, instance: null, peer: null, ms: Math.round(performance.now() - start) }));
  });
}

async function onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://app');
  if (url.pathname === '/call') {
    const n = Math.min(Number(url.searchParams.get('n') ?? '1'), 100);
    const target = new URL(url.searchParams.get('url') ?? '');
    const results: CallResult[] = [];
    for (let i = 0; i < n; i++) results.push(await call(target, url.searchParams.get('host'), url.searchParams.get('fail')));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(results));
    return;
  }
  const status = req.headers['x-fail-instance'] === name ? 500 : 200;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ instance: name, peer: req.socket.remoteAddress }));
}

const ports = portList.split(',').map(Number);
let listening = 0;
for (const port of ports) {
  const server = http.createServer((req, res) => {
    onRequest(req, res).catch((err: Error) => res.writeHead(500).end(err.message));
  });
  server.listen({ host: '0.0.0.0', port }, () => {
    if (++listening === ports.length) console.log(JSON.stringify({ ready: true }));
  });
}
// Started with a pipe on stdin: its end means the test process is gone.
process.stdin.on('end', () => process.exit(0)).resume();
