// A ztunnel-like HBONE server for the waypoint tests: mutual TLS, ALPN h2, each HTTP/2 CONNECT
// joined to the address its authority names; it records the authorities, the peers' SANs and
// whether the client's SETTINGS enabled CONNECT.
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { Test } from 'tap';

export async function startHbone(t: Test, tls: { cert: string; key: string; ca: string }, host: string, port = 0) {
  const authorities: string[] = [];
  const peers: string[] = [];
  const enableConnect: (boolean | undefined)[] = [];
  const sessions: http2.ServerHttp2Session[] = [];
  const server = http2.createSecureServer({ ...tls, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] });
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.push(s);
    s.on('error', () => {});
    s.once('remoteSettings', (settings) => enableConnect.push(settings.enableConnectProtocol));
    peers.push((s.socket as unknown as import('node:tls').TLSSocket).getPeerCertificate().subjectaltname ?? '');
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    authorities.push(headers[':authority'] as string);
    if (headers[':method'] !== 'CONNECT') {
      stream.respond({ ':status': 405 }, { endStream: true });
      return;
    }
    const [ip, destinationPort] = (headers[':authority'] as string).split(':');
    const app = net.connect({ port: Number(destinationPort), host: ip, allowHalfOpen: true }, () => {
      stream.respond({ ':status': 200 });
      stream.pipe(app);
      app.pipe(stream);
    });
    app.on('error', () => stream.close(http2.constants.NGHTTP2_CONNECT_ERROR));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  t.teardown(() => {
    for (const s of sessions) s.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, authorities, peers, enableConnect, sessions };
}
