// The proxy a Node developer writes in ten lines: node:http in front, undici's request() (its
// global keep-alive pool) to the upstream, the response piped back. Only the Connection and
// Keep-Alive headers are dropped on the way, which even a naive proxy must do to keep either side's
// connections working. No routing, no retries: the bar any Node proxy has to clear.
import http from 'node:http';
import type net from 'node:net';
import { pipeline } from 'node:stream';
import { request } from 'undici';

const { upstreamPort } = JSON.parse(process.argv[2] ?? '{}') as { upstreamPort: number };
const origin = `http://127.0.0.1:${upstreamPort}`;

function withoutHopByHop<T extends Record<string, unknown>>(headers: T): T {
  const { connection: _connection, 'keep-alive': _keepAlive, ...rest } = headers;
  return rest as T;
}

const server = http.createServer(async (req, res) => {
  try {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const upstream = await request(origin + req.url, {
      method: req.method as 'GET',
      headers: withoutHopByHop(req.headers),
      body: hasBody ? req : undefined,
    });
    res.writeHead(upstream.statusCode, withoutHopByHop(upstream.headers));
    pipeline(upstream.body, res, () => {});
  } catch {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  }
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as net.AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
