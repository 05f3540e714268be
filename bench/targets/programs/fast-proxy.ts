// fast-proxy (the engine of fast-gateway, derived from fastify-reply-from) with its undici pool
// to the upstream.
import http from 'node:http';
import type net from 'node:net';
import fastProxy from 'fast-proxy';

const { upstreamPort } = JSON.parse(process.argv[2] ?? '{}') as { upstreamPort: number };

const { proxy } = fastProxy({
  base: `http://127.0.0.1:${upstreamPort}`,
  undici: { connections: 512, pipelining: 1 },
});

const server = http.createServer((req, res) => proxy(req, res, req.url ?? '/', {}));
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as net.AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
