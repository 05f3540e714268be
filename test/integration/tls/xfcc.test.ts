// x-forwarded-client-cert over real mutual TLS: SANITIZE_SET and APPEND_FORWARD write this
// connection's element (By= the listener certificate's URI SAN, Hash= the client certificate's
// SHA-256, then Cert, Subject, URI, DNS in Envoy's order); without a client certificate every mode
// but ALWAYS_FORWARD_ONLY removes the header; SANITIZE (the default) always removes it.
import { createHash, X509Certificate } from 'node:crypto';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { certFiles, downstreamTls, httpsGet, hcmToBackend } from './support.ts';

const skip = opensslMissing();


const xfccOf = (body: string) => (JSON.parse(body) as { headers: Record<string, string | undefined> }).headers['x-forwarded-client-cert'];

t.test('x-forwarded-client-cert', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const server = ca.issue('proxy.test', ['DNS:proxy.test', 'URI:spiffe://cluster.local/ns/p/sa/proxy']);
  const client = ca.issue('client-b', ['URI:spiffe://cluster.local/ns/a/sa/b', 'DNS:b.test', 'DNS:b2.test']);
  const noUriClient = ca.issue('client-d', ['DNS:d.test']);
  const hash = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());
  // Client certificates are asked for (a validation context) but not required.
  const tlsChain = (name: string, extra: object) => ({
    name,
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({ tls_certificates: [certFiles(server)], validation_context: { trusted_ca: { filename: ca.certFile } } }),
      filters: [hcmToBackend(name, extra)],
    }],
  });
  const plain = (name: string, extra: object) => ({ name, address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [hcmToBackend(name, extra)] }] });
  const legate = await startLegate(bootstrap([
    tlsChain('set', { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { subject: true, cert: true, uri: true, dns: true } }),
    tlsChain('append', { forward_client_cert_details: 'APPEND_FORWARD', set_current_client_cert_details: { uri: true } }),
    tlsChain('forward', { forward_client_cert_details: 'FORWARD_ONLY' }),
    tlsChain('sanitize', {}),
    plain('always', { forward_client_cert_details: 'ALWAYS_FORWARD_ONLY' }),
    plain('plainappend', { forward_client_cert_details: 'APPEND_FORWARD' }),
  ], [staticCluster('backend', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());
  const prior = { 'x-forwarded-client-cert': 'By=spiffe://earlier;Hash=00' };
  const mtls = (name: string, cert = client, headers: Record<string, string> = prior) =>
    httpsGet(legate.port(name), '/', { ca: ca.cert, cert: cert.cert, key: cert.key, servername: 'proxy.test', headers });

  t.test('SANITIZE_SET replaces the header with this connection\'s element, details in Envoy\'s order', async (t) => {
    const reply = await mtls('set');
    t.equal(reply.status, 200);
    const pem = encodeURIComponent(new X509Certificate(client.cert).toString());
    t.equal(xfccOf(reply.body),
      `By=spiffe://cluster.local/ns/p/sa/proxy;Hash=${hash(client.cert)};Cert="${pem}";Subject="CN=client-b,O=Legate Tests";` +
      'URI=spiffe://cluster.local/ns/a/sa/b;DNS=b.test;DNS=b2.test');
    t.match(pem, /^-----BEGIN%20CERTIFICATE-----%0A/);
  });

  t.test('a certificate without a URI SAN still gets an empty URI= key', async (t) => {
    const reply = await mtls('append', noUriClient, {});
    t.equal(xfccOf(reply.body), `By=spiffe://cluster.local/ns/p/sa/proxy;Hash=${hash(noUriClient.cert)};URI=`);
  });

  t.test('APPEND_FORWARD appends this connection\'s element after a comma', async (t) => {
    const reply = await mtls('append');
    t.equal(xfccOf(reply.body), `${prior['x-forwarded-client-cert']},By=spiffe://cluster.local/ns/p/sa/proxy;Hash=${hash(client.cert)};URI=spiffe://cluster.local/ns/a/sa/b`);
  });

  t.test('FORWARD_ONLY passes the header on unchanged over mTLS', async (t) => {
    t.equal(xfccOf((await mtls('forward')).body), prior['x-forwarded-client-cert']);
  });

  t.test('SANITIZE (the default) removes the header even over mTLS', async (t) => {
    t.equal(xfccOf((await mtls('sanitize')).body), undefined);
  });

  t.test('without a client certificate the header is removed (TLS, but not mutual)', async (t) => {
    for (const name of ['set', 'append', 'forward']) {
      const reply = await httpsGet(legate.port(name), '/', { ca: ca.cert, servername: 'proxy.test', headers: prior });
      t.equal(reply.status, 200, name);
      t.equal(xfccOf(reply.body), undefined, name);
    }
  });

  t.test('/certs shows the listeners\' certificate and CA files from the running config', async (t) => {
    const reply = await fetchText(legate.adminUrl('/certs'));
    const body = JSON.parse(reply.body) as { certificates: { ca_cert: { path: string }[]; cert_chain: { path: string; subject_alt_names: object[] }[] }[] };
    t.equal(body.certificates.length, 4, 'one per TLS filter chain');
    for (const c of body.certificates) {
      t.same(c.ca_cert.map((x) => x.path), [ca.certFile]);
      t.same(c.cert_chain.map((x) => x.path), [server.certFile]);
      t.same(c.cert_chain[0].subject_alt_names, [{ dns: 'proxy.test' }, { uri: 'spiffe://cluster.local/ns/p/sa/proxy' }]);
    }
    t.notOk(reply.body.includes('PRIVATE KEY'));
  });

  t.test('plain HTTP: ALWAYS_FORWARD_ONLY keeps the header, APPEND_FORWARD removes it', async (t) => {
    const always = await fetchText(`http://127.0.0.1:${legate.port('always')}/`, { headers: prior });
    t.equal(xfccOf(always.body), prior['x-forwarded-client-cert']);
    const append = await fetchText(`http://127.0.0.1:${legate.port('plainappend')}/`, { headers: prior });
    t.equal(xfccOf(append.body), undefined);
  });
});
