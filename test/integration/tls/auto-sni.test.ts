// auto_sni and auto_san_validation: two names on one upstream host each get their own TLS
// connection with their own SNI (connections are never shared across names; keep-alive reuses a
// name's own), the SAN is checked against the request's host, override_auto_sni_header names the
// server instead of the host, and without the options the configured sni is sent.
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { upstreamTls } from './support.ts';

const skip = opensslMissing();
const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function protocolOptions(upstream: object) {
  return { typed_extension_protocol_options: { [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, explicit_http_config: { http_protocol_options: {} }, upstream_http_protocol_options: upstream } } };
}

t.test('auto_sni and auto_san_validation', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('upstream', ['DNS:a.test', 'DNS:b.test']);
  // Each TLS connection gets a number; a reply names the connection and the SNI it came with.
  const ids = new WeakMap<TLSSocket, number>();
  let next = 0;
  const server = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    const socket = req.socket as TLSSocket & { servername?: string | false };
    if (!ids.has(socket)) ids.set(socket, ++next);
    req.resume();
    req.once('end', () => res.end(JSON.stringify({ sni: socket.servername || '', conn: ids.get(socket) })));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const port = (server.address() as AddressInfo).port;
  const tls = upstreamTls({ validation_context: { trusted_ca: { filename: ca.certFile } } }, { sni: 'default.test' });
  const listener = httpListener('in', routes([
      { match: { prefix: '/plain' }, route: { cluster: 'plain' } },
      { match: { prefix: '/header' }, route: { cluster: 'header' } },
      { match: { prefix: '/' }, route: { cluster: 'auto' } },
  ]));
  const legate = await startLegate(bootstrap([listener], [
    staticCluster('auto', [{ port }], { transport_socket: tls, ...protocolOptions({ auto_sni: true, auto_san_validation: true }) }),
    staticCluster('header', [{ port }], { transport_socket: tls, ...protocolOptions({ auto_sni: true, override_auto_sni_header: 'X-Upstream-Name' }) }),
    staticCluster('plain', [{ port }], { transport_socket: tls }),
  ]));
  t.teardown(() => legate.stop());
  const get = async (path: string, headers: Record<string, string>) => {
    const reply = await fetchText(`http://127.0.0.1:${legate.port('in')}${path}`, { headers });
    return { status: reply.status, ...(reply.status === 200 ? JSON.parse(reply.body) as { sni: string; conn: number } : { sni: '', conn: 0 }) };
  };

  t.test('each name gets its own connection and SNI; a name reuses its own', async (t) => {
    const a1 = await get('/', { host: 'a.test' });
    const b1 = await get('/', { host: 'b.test:8443' });
    const a2 = await get('/', { host: 'a.test' });
    const b2 = await get('/', { host: 'b.test:8443' });
    t.same([a1.status, b1.status, a2.status, b2.status], [200, 200, 200, 200]);
    t.same([a1.sni, b1.sni, a2.sni, b2.sni], ['a.test', 'b.test', 'a.test', 'b.test'], 'the SNI is the host without its port');
    t.not(a1.conn, b1.conn, 'different names, different connections');
    t.equal(a2.conn, a1.conn, 'a.test reused its connection');
    t.equal(b2.conn, b1.conn, 'b.test reused its connection');
  });

  t.test('auto_san_validation: a host the certificate does not name fails the handshake', async (t) => {
    const before = (await statsMap(legate.adminUrl(''))).get('cluster.auto.ssl.fail_verify_san') ?? 0;
    const reply = await get('/', { host: 'c.test' });
    t.equal(reply.status, 503);
    const after = (await statsMap(legate.adminUrl(''))).get('cluster.auto.ssl.fail_verify_san') ?? 0;
    t.equal(after, before + 1, 'counted as ssl.fail_verify_san');
  });

  t.test('override_auto_sni_header names the server; without it, the host', async (t) => {
    const named = await get('/header', { host: 'a.test', 'x-upstream-name': 'c.test' });
    t.equal(named.status, 200, 'no SAN validation on this cluster');
    t.equal(named.sni, 'c.test');
    const fallback = await get('/header', { host: 'b.test' });
    t.equal(fallback.sni, 'b.test');
  });

  t.test('an IP host sends the configured sni; a cluster without auto_sni always does', async (t) => {
    t.equal((await get('/header', { host: `127.0.0.1:${port}` })).sni, 'default.test');
    t.equal((await get('/plain', { host: 'a.test' })).sni, 'default.test');
  });
});
