// The demo's two upstream apps: tiny HTTP servers that say who they are and echo the request
// line and the headers Legate added, so a user sees the split and the proxying at work.
import http from 'node:http';

export interface DemoApp {
  name: string;
  port: number;
  close(): Promise<void>;
}

export function startDemoApp(name: string, port: number, host = '127.0.0.1'): Promise<DemoApp> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      const body = JSON.stringify({
        app: name,
        method: req.method,
        path: req.url,
        request_id: req.headers['x-request-id'] ?? null,
        forwarded_for: req.headers['x-forwarded-for'] ?? null,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) + 1 });
      res.end(body + '\n');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`demo app '${name}' cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        name,
        port: typeof address === 'object' && address !== null ? address.port : port,
        close: () => {
          server.closeAllConnections();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}
