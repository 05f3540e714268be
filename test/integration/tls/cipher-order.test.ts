// Which cipher a TLS listener picks when the client lists several: the server's order, as Envoy's
// listeners do (SSL_OP_CIPHER_SERVER_PREFERENCE; the prefer_client_ciphers that turns it off is
// newer than Legate's Envoy API). TLS 1.2, where the order decides.
import tls from 'node:tls';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { startUpstream } from '../../support/upstream.ts';
import { certFiles, downstreamTls, hcmToBackend } from './support.ts';

const SERVER_ORDER = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'];

function negotiatedCipher(port: number, ca: string, ciphers: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'cipher.test', maxVersion: 'TLSv1.2', ciphers: ciphers.join(':'), checkServerIdentity: () => undefined });
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      resolve(socket.getCipher().name);
      socket.end();
    });
    socket.once('error', reject);
  });
}

t.test('cipher order', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('cipher.test', ['DNS:cipher.test']);
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const common = { tls_certificates: [certFiles(leaf)], tls_params: { tls_maximum_protocol_version: 'TLSv1_2', cipher_suites: SERVER_ORDER } };
  const listener = { name: 'tls', address: socketAddress('127.0.0.1', 0), filter_chains: [{ transport_socket: downstreamTls(common), filters: [hcmToBackend('tls')] }] };
  const legate = await startLegate(bootstrap([listener], [staticCluster('backend', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());

  const port = legate.port('tls');
  t.equal(await negotiatedCipher(port, ca.cert, [SERVER_ORDER[1], SERVER_ORDER[0]]), SERVER_ORDER[0], "the listener's first cipher wins over the client's first");
  t.equal(await negotiatedCipher(port, ca.cert, [SERVER_ORDER[2], SERVER_ORDER[0]]), SERVER_ORDER[2], 'a client listing ChaCha20 first gets it, as from BoringSSL');
});
