// TLS termination on Legate's listeners with real certificates from a test CA: HTTPS to a plain
// upstream (x-forwarded-proto https, the access log's TLS operators), a certificate per filter
// chain chosen by SNI, mutual TLS with a SPIFFE URI SAN, and bad input (plain HTTP to a TLS
// port, no client certificate, an untrusted one, a wrong SAN) refused with the right stat.
import { join } from 'node:path';
import { once } from 'node:events';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, rawExchange, statsMap, waitFor, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { startTcpServer, tcpProxyFilter } from '../l4/support.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { certFiles, downstreamTls, httpsGet, TLS_INSPECTOR, hcmToBackend } from './support.ts';

const skip = opensslMissing();


t.test('TLS termination', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const otherCa = createTestCa('Other CA');
  t.teardown(() => otherCa.remove());
  const alpha = ca.issue('alpha.test', ['DNS:alpha.test']);
  const beta = ca.issue('beta.test', ['DNS:beta.test', 'DNS:*.beta.test']);
  const server = ca.issue('mtls.test', ['DNS:mtls.test']);
  const goodClient = ca.issue('client-b', ['URI:spiffe://cluster.local/ns/a/sa/b']);
  const wrongSanClient = ca.issue('client-c', ['URI:spiffe://cluster.local/ns/a/sa/c']);
  const untrustedClient = otherCa.issue('client-b', ['URI:spiffe://cluster.local/ns/a/sa/b']);

  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());
  const logPath = join(ca.dir, 'access.log');
  const tcpLogPath = join(ca.dir, 'tcp-access.log');

  const sniListener = {
    name: 'sni',
    address: socketAddress('127.0.0.1', 0),
    listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR } }],
    filter_chains: [
      { filter_chain_match: { server_names: ['alpha.test'] }, transport_socket: downstreamTls({ tls_certificates: [certFiles(alpha)] }), filters: [hcmToBackend('alpha', {
        access_log: [{ name: 'file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: logPath,
          log_format: { text_format_source: { inline_string: '%REQ(:PATH)% %DOWNSTREAM_TLS_VERSION% %REQUESTED_SERVER_NAME% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_PEER_SUBJECT%\n' } } } }],
      })] },
      { filter_chain_match: { server_names: ['beta.test', '*.beta.test'] }, transport_socket: downstreamTls({ tls_certificates: [{ certificate_chain: { inline_string: beta.cert }, private_key: { inline_string: beta.key } }] }), filters: [hcmToBackend('beta')] },
    ],
  };
  const mtlsListener = {
    name: 'mtls',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({
        tls_certificates: [certFiles(server)],
        validation_context: {
          trusted_ca: { filename: ca.certFile },
          match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/a/sa/b' } }],
        },
      }, { require_client_certificate: true }),
      filters: [hcmToBackend('mtls', {
        access_log: [{ name: 'file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: logPath,
          log_format: { text_format_source: { inline_string: '%REQ(:PATH)% %DOWNSTREAM_TLS_VERSION% %REQUESTED_SERVER_NAME% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_PEER_SUBJECT%\n' } } } }],
      })],
    }],
  };
  const slowListener = {
    name: 'slow',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{ transport_socket: downstreamTls({ tls_certificates: [certFiles(alpha)] }), transport_socket_connect_timeout: '0.2s', filters: [hcmToBackend('slow')] }],
  };
  const echoServer = await startTcpServer((socket) => socket.pipe(socket));
  t.teardown(() => echoServer.close());
  const tcpTlsListener = {
    name: 'tcptls',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({ tls_certificates: [certFiles(alpha)] }),
      filters: [tcpProxyFilter('tcptls', 'echo', {
        access_log: [{ name: 'file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: tcpLogPath,
          log_format: { text_format_source: { inline_string: 'tcp %DOWNSTREAM_TLS_VERSION% %REQUESTED_SERVER_NAME% %BYTES_RECEIVED%\n' } } } }],
      })],
    }],
  };
  const plainListener = { name: 'plain', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [hcmToBackend('plain')] }] };
  const legate = await startLegate(bootstrap([sniListener, mtlsListener, slowListener, tcpTlsListener, plainListener], [staticCluster('backend', [{ port: upstream.port }]), staticCluster('echo', [{ port: echoServer.port }])]));
  t.teardown(() => legate.stop());
  const sniPort = legate.port('sni');
  const mtlsPort = legate.port('mtls');
  // Listener stats are named by the configured address (port 0 here), as Legate's other listener stats.
  const sniStat = (name: string) => `listener.127.0.0.1_0.ssl.${name}`;
  const mtlsStat = sniStat;

  t.test('HTTPS to a plain upstream, with the certificate chosen by SNI', async (t) => {
    const a = await httpsGet(sniPort, '/a', { servername: 'alpha.test', ca: ca.cert });
    t.equal(a.status, 200);
    t.equal(a.peerCn, 'alpha.test', 'alpha.test gets the alpha certificate');
    const echo = JSON.parse(a.body) as { headers: Record<string, string> };
    t.equal(echo.headers['x-forwarded-proto'], 'https', 'the connection manager knows the scheme');
    const b = await httpsGet(sniPort, '/b', { servername: 'www.beta.test', ca: ca.cert });
    t.equal(b.status, 200);
    t.equal(b.peerCn, 'beta.test', 'a wildcard server name picks the beta chain and its inline certificate');
    const [line] = await waitForLines(logPath, 1);
    t.match(line, /^\/a TLSv1\.3 alpha\.test - -$/, 'access log: version and SNI, no peer certificate');
    const stats = await statsMap(legate.adminUrl(''));
    t.ok((stats.get(sniStat('handshake')) ?? 0) >= 2, 'ssl.handshake counts');
    t.ok((stats.get(sniStat('versions.TLSv1.3')) ?? 0) >= 2, 'ssl.versions.TLSv1.3 counts');
    t.ok([...stats.keys()].some((k) => k.startsWith(sniStat('ciphers.'))), 'ssl.ciphers.<name> counts');
    t.ok((stats.get(sniStat('no_certificate')) ?? 0) >= 2, 'ssl.no_certificate counts connections without a client certificate');
  });

  t.test('a TLS client without a matching server name gets no chain', async (t) => {
    await t.rejects(httpsGet(sniPort, '/', { servername: 'gamma.test', ca: ca.cert }));
    const stats = await statsMap(legate.adminUrl(''));
    t.ok((stats.get('listener.127.0.0.1_0.no_filter_chain_match') ?? 0) >= 1);
  });

  t.test('mutual TLS: the SPIFFE URI SAN passes', async (t) => {
    const reply = await httpsGet(mtlsPort, '/m', { servername: 'mtls.test', ca: ca.cert, cert: goodClient.cert, key: goodClient.key });
    t.equal(reply.status, 200);
    const lines = await waitForLines(logPath, 2);
    t.match(lines.find((l) => l.startsWith('/m ')), /^\/m TLSv1\.3 mtls\.test spiffe:\/\/cluster\.local\/ns\/a\/sa\/b CN=client-b,O=Legate Tests$/);
  });

  t.test('mutual TLS refusals count their stat', async (t) => {
    const before = await statsMap(legate.adminUrl(''));
    await t.rejects(httpsGet(mtlsPort, '/', { servername: 'mtls.test', ca: ca.cert, cert: wrongSanClient.cert, key: wrongSanClient.key }), 'a wrong SAN is refused');
    await t.rejects(httpsGet(mtlsPort, '/', { servername: 'mtls.test', ca: ca.cert }), 'no client certificate is refused');
    await t.rejects(httpsGet(mtlsPort, '/', { servername: 'mtls.test', ca: ca.cert, cert: untrustedClient.cert, key: untrustedClient.key }), 'an untrusted client certificate is refused');
    const grew = (name: string) => async () => {
      const now = await statsMap(legate.adminUrl(''));
      return (now.get(mtlsStat(name)) ?? 0) > (before.get(mtlsStat(name)) ?? 0) ? true : undefined;
    };
    await waitFor('ssl.fail_verify_san', grew('fail_verify_san'));
    await waitFor('ssl.fail_verify_no_cert', grew('fail_verify_no_cert'));
    await waitFor('ssl.fail_verify_error', grew('fail_verify_error'));
    const reply = await httpsGet(mtlsPort, '/after', { servername: 'mtls.test', ca: ca.cert, cert: goodClient.cert, key: goodClient.key });
    t.equal(reply.status, 200, 'the listener still serves');
  });

  t.test('plain HTTP to a TLS port is closed and counted as ssl.connection_error', async (t) => {
    const before = (await statsMap(legate.adminUrl(''))).get(mtlsStat('connection_error')) ?? 0;
    const answer = await rawExchange(mtlsPort, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    t.notMatch(answer, /^HTTP\/1\.1 200/, 'no HTTP answer');
    await waitFor('ssl.connection_error', async () => ((await statsMap(legate.adminUrl(''))).get(mtlsStat('connection_error')) ?? 0) > before ? true : undefined);
  });

  t.test('TLS to a plain port is closed and counted as a protocol error', async (t) => {
    const port = legate.port('plain');
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'x.test', rejectUnauthorized: false });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('error', (err) => resolve(err.message));
      socket.once('secureConnect', () => resolve('connected'));
      socket.once('close', () => resolve('closed'));
    });
    socket.destroy();
    t.not(outcome, 'connected');
    await waitFor('downstream_cx_protocol_error', async () => ((await statsMap(legate.adminUrl(''))).get('http.plain.downstream_cx_protocol_error') ?? 0) > 0 ? true : undefined);
    const ok = await fetchText(legate.url('/', 'plain'));
    t.equal(ok.status, 200, 'the plain listener still serves');
  });

  t.test('large bodies both ways and keep-alive over one TLS connection', async (t) => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, servername: 'alpha.test', checkServerIdentity: () => undefined });
    t.teardown(() => agent.destroy());
    const body = Buffer.alloc(2 * 1024 * 1024, 'x');
    const post = () => new Promise<{ status: number; length: number; socket: unknown }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: sniPort, path: '/upload', method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => {
        let length = 0;
        res.on('data', (c: Buffer) => (length += c.length));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, length, socket: req.socket }));
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end(body);
    });
    const first = await post();
    const second = await post();
    t.equal(first.status, 200);
    t.ok(first.length > body.length, 'the echo carries the whole 2 MiB body back');
    t.equal(second.length, first.length);
    t.equal(first.socket, second.socket, 'the second request reused the TLS connection');
  });

  t.test('tcp_proxy behind TLS termination relays the plaintext', async (t) => {
    const socket = tls.connect({ host: '127.0.0.1', port: legate.port('tcptls'), servername: 'alpha.test', ca: ca.cert, checkServerIdentity: () => undefined });
    await once(socket, 'secureConnect');
    socket.end('ping over tls');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    await once(socket, 'close');
    t.equal(text, 'ping over tls', 'the plain echo upstream got the decrypted bytes and they came back encrypted');
    const [line] = await waitForLines(tcpLogPath, 1);
    t.equal(line, 'tcp TLSv1.3 alpha.test 13');
  });

  t.test('session tickets: a resumed handshake gets a new ticket, as Envoy issues them', async (t) => {
    const reusedBefore = (await statsMap(legate.adminUrl(''))).get(sniStat('session_reused')) ?? 0;
    const connect = async (session?: Buffer) => {
      const socket = tls.connect({ host: '127.0.0.1', port: legate.port('tcptls'), servername: 'alpha.test', ca: ca.cert, checkServerIdentity: () => undefined, session });
      let ticket: Buffer | undefined;
      socket.on('session', (s: Buffer) => (ticket = s));
      await once(socket, 'secureConnect');
      const reused = socket.isSessionReused();
      socket.end('x');
      socket.resume();
      await once(socket, 'close');
      return { reused, ticket };
    };
    const first = await connect();
    t.equal(first.reused, false, 'a full handshake first');
    t.ok(first.ticket, 'with a ticket');
    const second = await connect(first.ticket);
    t.equal(second.reused, true, 'resumed with that ticket');
    t.ok(second.ticket, 'the resumed handshake brings a new ticket');
    const third = await connect(second.ticket);
    t.equal(third.reused, true, 'which resumes too');
    await waitFor('ssl.session_reused', async () => ((await statsMap(legate.adminUrl(''))).get(sniStat('session_reused')) ?? 0) >= reusedBefore + 2 ? true : undefined);
  });

  t.test('a handshake that never comes ends at transport_socket_connect_timeout', async (t) => {
    const before = (await statsMap(legate.adminUrl(''))).get(sniStat('connection_error')) ?? 0;
    const socket = net.connect(legate.port('slow'), '127.0.0.1');
    socket.on('error', () => undefined);
    const started = performance.now();
    await once(socket, 'close');
    const waited = performance.now() - started;
    t.ok(waited >= 150 && waited < 5000, `closed after ${Math.round(waited)} ms`);
    const after = (await statsMap(legate.adminUrl(''))).get(sniStat('connection_error')) ?? 0;
    t.ok(after > before, 'counted as ssl.connection_error');
  });

  t.test('the private key is not in /config_dump', async (t) => {
    const dump = (await fetchText(legate.adminUrl('/config_dump'))).body;
    t.notOk(dump.includes('PRIVATE KEY'), 'no PEM key');
    t.notOk(dump.includes(beta.key.split('\n')[1]), 'no key bytes');
    t.ok(dump.includes('[redacted]'), 'keys are redacted');
    t.ok(dump.includes(alpha.certFile) || dump.includes('alpha.test'), 'the certificate source stays');
  });
});
