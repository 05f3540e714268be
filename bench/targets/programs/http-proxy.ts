// The classic Node reverse proxy: http-proxy with a keep-alive agent to the upstream.
import http from 'node:http';
import type net from 'node:net';
import httpProxy from 'http-proxy';

const { upstreamPort } = JSON.parse(process.argv[2] ?? '{}') as { upstreamPort: number };

const proxy = httpProxy.createProxyServer({
  target: `http://127.0.0.1:${upstreamPort}`,
  agent: new http.Agent({ keepAlive: true, maxSockets: 512 }),
});
proxy.on('error', (_error, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502);
    res.end();
  } else {
    res.destroy();
  }
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as net.AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
