// An HTTP/2 upstream for tests: a node:http2 server on 127.0.0.1:0 (h2c, or h2 over TLS with a
// test CA's leaf), counting sessions and streams, every stream's handler given to the test. Stream
// and session errors are swallowed: resets are what some tests are about.
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import type { LeafCert } from './test-ca.ts';

export type H2Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

export interface H2Upstream {
  port: number;
  /** Sessions (connections) accepted, in order. */
  sessions: http2.ServerHttp2Session[];
  streams: number;
}

export interface H2UpstreamOptions {
  settings?: http2.Settings;
  tls?: LeafCert;
  /** The connection's receive window (node's default is 64 KiB), as a WINDOW_UPDATE on stream 0. */
  connectionWindow?: number;
}

export async function startH2Upstream(t: Test, handler: H2Handler, options: H2UpstreamOptions = {}): Promise<H2Upstream> {
  const server = options.tls === undefined
    ? http2.createServer({ settings: options.settings })
    : http2.createSecureServer({ settings: options.settings, cert: options.tls.cert, key: options.tls.key });
  const upstream: H2Upstream = { port: 0, sessions: [], streams: 0 };
  server.on('session', (s: http2.ServerHttp2Session) => {
    upstream.sessions.push(s);
    s.on('error', () => undefined);
    const window = options.connectionWindow;
    if (window !== undefined) s.once('connect', () => s.setLocalWindowSize(window));
  });
  server.on('stream', (stream, headers) => {
    upstream.streams++;
    stream.on('error', () => undefined);
    handler(stream, headers);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  upstream.port = (server.address() as AddressInfo).port;
  t.teardown(() => {
    for (const s of upstream.sessions) s.destroy();
    server.close();
  });
  return upstream;
}
