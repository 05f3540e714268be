// The local certificate's URI SANs are parsed only when something asks for them: node parses the
// whole certificate for them (getCertificate), which cost a fifth of the CPU of a new TLS
// connection when it was done for every connection. An access log that prints
// %DOWNSTREAM_LOCAL_URI_SAN% asks; one that does not, and the connection manager alone, do not.
import { join } from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { certFiles, downstreamTls, hcmToBackend, httpsGet } from './support.ts';

t.test('getCertificate runs only for a format that prints the local URI SAN', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const server = ca.issue('local.test', ['DNS:local.test', 'URI:spiffe://cluster.local/ns/edge/sa/gateway']);
  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());
  const logPath = join(ca.dir, 'access.log');
  const fileLog = (format: string) => [{ name: 'file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: logPath, log_format: { text_format_source: { inline_string: format } } } }];
  const tlsListener = (name: string, hcmExtra: object) => ({
    name,
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{ filters: [hcmToBackend(name, hcmExtra)], transport_socket: downstreamTls({ tls_certificates: [certFiles(server)] }) }],
  });
  const legate = await startLegate(bootstrap(
    [tlsListener('plain_log', { access_log: fileLog('plain %PROTOCOL%\n') }), tlsListener('san_log', { access_log: fileLog('san %DOWNSTREAM_LOCAL_URI_SAN%\n') })],
    [staticCluster('backend', [{ port: upstream.port }])],
  ));
  t.teardown(() => legate.stop());

  // Legate serves in this process (one worker): count the parses of any server-side TLS socket.
  const original = tls.TLSSocket.prototype.getCertificate;
  let calls = 0;
  tls.TLSSocket.prototype.getCertificate = function (this: tls.TLSSocket) {
    calls++;
    return original.call(this);
  };
  t.teardown(() => {
    tls.TLSSocket.prototype.getCertificate = original;
  });

  for (let i = 0; i < 3; i++) t.equal((await httpsGet(legate.port('plain_log'), '/', { ca: ca.cert, servername: 'local.test' })).status, 200);
  await waitForLines(logPath, 3);
  t.equal(calls, 0, 'three new TLS connections whose formats do not print the local SAN: the certificate is never parsed');

  t.equal((await httpsGet(legate.port('san_log'), '/', { ca: ca.cert, servername: 'local.test' })).status, 200);
  const lines = await waitForLines(logPath, 4);
  t.equal(lines[3], 'san spiffe://cluster.local/ns/edge/sa/gateway', 'the format that asks gets the SAN');
  t.ok(calls > 0, 'and the certificate was parsed for it');
});
