// A waypoint's client side, as Istio's HBONE sends it: an HTTP/2 CONNECT over mutual TLS, then an
// HTTP/1.1 request inside the tunnel.
import http2 from 'node:http2';
import type { LeafCert } from './test-ca.ts';

export interface TunnelReply {
  connectStatus: number;
  response: string; // what came back through the tunnel
}

/** One CONNECT to `authority` (with `headers`) on a new mTLS HTTP/2 connection, an HTTP/1.1 GET of `path` inside it. */
export function tunnelGet(port: number, ca: string, client: LeafCert, authority: string, requestPath: string, headers: Record<string, string> = {}): Promise<TunnelReply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca, cert: client.cert, key: client.key, ALPNProtocols: ['h2'], servername: 'waypoint' });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no answer through the tunnel to ${authority} in 5 s`));
    }, 5000);
    const done = (reply: TunnelReply) => {
      clearTimeout(timer);
      session.close();
      resolve(reply);
    };
    session.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const stream = session.request({ ':method': 'CONNECT', ':authority': authority, ...headers }, { endStream: false });
    let connectStatus = 0;
    let response = '';
    stream.setEncoding('utf8');
    stream.on('response', (headers) => {
      connectStatus = Number(headers[':status']);
      stream.write(`GET ${requestPath} HTTP/1.1\r\nhost: ${authority}\r\nconnection: close\r\n\r\n`);
    });
    stream.on('data', (chunk: string) => (response += chunk));
    stream.on('error', () => done({ connectStatus, response }));
    stream.on('close', () => done({ connectStatus, response }));
  });
}

/** The status line's code of the response inside the tunnel (0 when none came). */
export const tunnelStatus = (r: TunnelReply) => Number(/^HTTP\/1\.1 (\d{3})/.exec(r.response)?.[1] ?? 0);
