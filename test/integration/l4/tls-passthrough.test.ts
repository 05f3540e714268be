// TLS passthrough: a listener with the tls_inspector routes TLS connections by SNI (and ALPN) to
// different clusters without decrypting; real TLS servers with self-signed certificates answer,
// and the handshake completes end to end. Plaintext on the same listener reaches an HTTP chain,
// an unmatched SNI is refused, and listener_filters_timeout bounds a ClientHello that never ends.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { bootstrap, HCM_TYPE, ROUTER_TYPE, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedByPeer, connectClient, opensslMissing, selfSignedCert, startTcpServer, tcpProxyFilter, type TestCert } from './support.ts';

const skip = opensslMissing();
if (skip) {
  t.plan(0, skip);
  process.exit(0);
}

const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };

const alphaCert = selfSignedCert(['alpha.example.com']);
const wildCert = selfSignedCert(['*.example.com']);

/** A TLS server that greets with its name and the negotiated ALPN, then echoes. */
async function startTlsServer(name: string, cert: TestCert, alpn?: string[]): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: cert.key, cert: cert.cert, ALPNProtocols: alpn }, (socket) => {
    socket.on('error', () => {});
    socket.write(`${name} ${socket.alpnProtocol || '-'}\n`);
    socket.pipe(socket);
  });
  server.on('connection', (s: net.Socket) => sockets.add(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TLS client through Legate: handshake, the greeting line, one echo; the peer's certificate CN. */
function tlsExchange(port: number, servername: string, ca: string, alpn?: string[]): Promise<{ greeting: string; echo: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: alpn });
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 5 s')), 5000);
    let text = '';
    socket.setEncoding('utf8');
    socket.once('secureConnect', () => socket.write('ping\n'));
    socket.on('data', (chunk: string) => {
      text += chunk;
      const lines = text.split('\n');
      if (lines.length < 3) return;
      clearTimeout(timer);
      const cn = String(socket.getPeerCertificate().subject.CN);
      socket.end();
      resolve({ greeting: lines[0], echo: lines[1], cn });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const alpha = await startTlsServer('alpha', alphaCert, ['h2', 'http/1.1']);
t.teardown(() => alpha.close());
const alphaH2 = await startTlsServer('alpha-h2', alphaCert, ['h2', 'http/1.1']);
t.teardown(() => alphaH2.close());
const wild = await startTlsServer('wild', wildCert);
t.teardown(() => wild.close());
const greeter = await startTcpServer((socket) => {
  socket.resume();
  socket.end('server speaks first\n');
});
t.teardown(() => greeter.close());

const plainHttp = {
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': HCM_TYPE,
    stat_prefix: 'plain',
    route_config: routes([{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'plain http' } } }]),
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
  },
};

const legate = await startLegate(
  bootstrap(
    [
      {
        name: 'sni',
        address: socketAddress('127.0.0.1', 0),
        listener_filters: [TLS_INSPECTOR],
        filter_chains: [
          { filter_chain_match: { server_names: ['alpha.example.com'] }, filters: [tcpProxyFilter('sni_alpha', 'alpha')] },
          { filter_chain_match: { server_names: ['alpha.example.com'], application_protocols: ['h2'] }, filters: [tcpProxyFilter('sni_alpha_h2', 'alpha_h2')] },
          { filter_chain_match: { server_names: ['*.example.com'] }, filters: [tcpProxyFilter('sni_wild', 'wild')] },
          { filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [plainHttp] },
        ],
      },
      {
        name: 'hello_timeout',
        address: socketAddress('127.0.0.1', 0),
        listener_filters: [TLS_INSPECTOR],
        listener_filters_timeout: '0.3s',
        filter_chains: [{ filters: [tcpProxyFilter('hello_timeout', 'greeter')] }],
      },
      {
        name: 'server_first',
        address: socketAddress('127.0.0.1', 0),
        listener_filters: [TLS_INSPECTOR],
        listener_filters_timeout: '0.3s',
        continue_on_listener_filters_timeout: true,
        filter_chains: [{ filters: [tcpProxyFilter('server_first', 'greeter')] }],
      },
    ],
    [
      staticCluster('alpha', [{ port: alpha.port }]),
      staticCluster('alpha_h2', [{ port: alphaH2.port }]),
      staticCluster('wild', [{ port: wild.port }]),
      staticCluster('greeter', [{ port: greeter.port }]),
    ],
  ),
);
t.teardown(() => legate.stop());
const stats = () => statsMap(legate.adminUrl(''));
/** Listener stats are named by the configured address (port 0 here): summed over listeners by suffix. */
const listenerStat = async (suffix: string) => [...(await stats())].filter(([k]) => k.startsWith('listener.') && k.endsWith(suffix)).reduce((sum, [, v]) => sum + v, 0);
const sniPort = legate.port('sni');

t.test('the exact server name reaches its cluster; the handshake completes end to end', async (t) => {
  const got = await tlsExchange(sniPort, 'alpha.example.com', alphaCert.cert, ['http/1.1']);
  t.equal(got.greeting, 'alpha http/1.1', 'the alpha server answered, through the TLS session');
  t.equal(got.echo, 'ping');
  t.equal(got.cn, 'alpha.example.com', 'its certificate was verified by the client');
});

t.test('the same server name with ALPN h2 prefers the chain that matches h2', async (t) => {
  const got = await tlsExchange(sniPort, 'alpha.example.com', alphaCert.cert, ['h2']);
  t.equal(got.greeting, 'alpha-h2 h2');
});

t.test('another name under the wildcard reaches the wildcard cluster; exact beats wildcard', async (t) => {
  const got = await tlsExchange(sniPort, 'beta.example.com', wildCert.cert);
  t.equal(got.greeting, 'wild -');
  t.equal(got.cn, '*.example.com');
  const deeper = await tlsExchange(sniPort, 'a.b.example.com', wildCert.cert).catch((err: Error) => err);
  // The wildcard chain takes a.b.example.com (Envoy's suffix match); the certificate does not cover it.
  t.match(String(deeper), /does not match|altnames/i);
  const s = await stats();
  t.equal(s.get('tcp.sni_wild.downstream_cx_total'), 2);
  t.equal(s.get('tcp.sni_alpha.downstream_cx_total'), 1);
  t.equal(s.get('tcp.sni_alpha_h2.downstream_cx_total'), 1);
});

t.test('plaintext on the same listener reaches the raw_buffer chain (an HTTP connection manager)', async (t) => {
  const reply = await fetchText(`http://127.0.0.1:${sniPort}/`);
  t.equal(reply.status, 200);
  t.equal(reply.body, 'plain http', 'the bytes the inspector read were handed on');
  t.ok(((await stats()).get('tls_inspector.tls_not_found') ?? 0) >= 1);
});

t.test('an SNI no chain matches: the connection is closed and counted', async (t) => {
  const before = await listenerStat('.no_filter_chain_match');
  const err = await tlsExchange(sniPort, 'nomatch.test', wildCert.cert).catch((e: Error) => e);
  t.type(err, Error, 'the handshake did not complete');
  t.equal(await listenerStat('.no_filter_chain_match'), before + 1, 'no_filter_chain_match counted');
  const s = await stats();
  t.ok((s.get('tls_inspector.sni_found') ?? 0) >= 4);
  t.ok((s.get('tls_inspector.alpn_found') ?? 0) >= 2);
});

t.test('a ClientHello that never completes is closed at listener_filters_timeout', async (t) => {
  const client = await connectClient(legate.port('hello_timeout'));
  t.teardown(() => client.destroy());
  client.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x80])); // a record header, then nothing
  const start = Date.now();
  await closedByPeer(client);
  t.ok(Date.now() - start >= 250, 'not before the timeout');
  t.equal(await listenerStat('.downstream_pre_cx_timeout'), 1);
  t.equal((await stats()).get('tcp.hello_timeout.downstream_cx_total') ?? 0, 0, 'no chain got it');
});

t.test('continue_on_listener_filters_timeout: a server-speaks-first protocol still works', async (t) => {
  const client = await connectClient(legate.port('server_first'));
  t.teardown(() => client.destroy());
  const [greeting] = (await once(client, 'data')) as [Buffer];
  t.equal(greeting.toString(), 'server speaks first\n');
});

t.test('an oversized ClientHello is refused: client_hello_too_large', async (t) => {
  const client = await connectClient(legate.port('hello_timeout'));
  t.teardown(() => client.destroy());
  const record = Buffer.alloc(5 + 16384);
  record.set([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x11, 0x70]); // a ClientHello of 70 000 bytes
  client.write(record);
  await closedByPeer(client);
  t.equal((await stats()).get('tls_inspector.client_hello_too_large'), 1);
});
