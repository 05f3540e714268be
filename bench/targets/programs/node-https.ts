// A bare node:https server that answers the TLS scenarios' GET /64 itself: no proxying, no
// routing, node's defaults (its own session tickets). What node's TLS layer costs by itself, the
// floor under any TLS terminator written on it, Legate included.
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';

const { certFile, keyFile } = JSON.parse(process.argv[2] ?? '{}') as { certFile: string; keyFile: string };
const body = Buffer.alloc(64, 'x');

const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as net.AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
