// /certs: Envoy's Certificates shape for every TLS context of the snapshot (filter chains, the
// default chain, clusters), with the CA and each certificate's leaf; no private key.
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import type { AdminContext } from '../../../proxy/admin/context.ts';
import { certs } from '../../../proxy/admin/handlers/certs.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';

t.test('/certs lists each TLS context in Envoy\'s shape', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const server = ca.issue('server.test', ['DNS:server.test', 'URI:spiffe://cluster.local/ns/a/sa/server', 'IP:127.0.0.1']);
  const client = ca.issue('client.test', ['DNS:client.test']);
  const ctx = {
    snapshot: {
      listeners: [
        { name: 'l', filterChains: [
          { tls: { certificates: [{ certificateChain: server.cert + ca.cert, privateKey: server.key, source: server.certFile }], validation: { trustedCa: ca.cert, trustedCaSource: ca.certFile } } },
          {},
        ], defaultFilterChain: { tls: { certificates: [{ certificateChain: client.cert, privateKey: client.key, source: 'inline' }] } } },
      ],
      clusters: [{ name: 'plain' }, { name: 'c', tls: { certificates: [], validation: { trustedCa: ca.cert, trustedCaSource: 'inline' } } }],
    },
  } as unknown as AdminContext;
  const response = await certs(ctx, { method: 'GET', url: new URL('http://admin/certs') });
  t.equal(response.contentType, 'application/json');
  t.notOk(response.body.includes('PRIVATE KEY'), 'no key');
  const body = JSON.parse(response.body) as { certificates: { ca_cert: Record<string, unknown>[]; cert_chain: Record<string, unknown>[] }[] };
  t.equal(body.certificates.length, 3, 'two listener contexts and one cluster context');
  const [first, second, third] = body.certificates;
  const x = new X509Certificate(server.cert);
  t.same(first.cert_chain, [{
    path: server.certFile,
    serial_number: x.serialNumber.toLowerCase(),
    subject_alt_names: [{ dns: 'server.test' }, { uri: 'spiffe://cluster.local/ns/a/sa/server' }, { ip_address: '127.0.0.1' }],
    days_until_expiration: first.cert_chain[0].days_until_expiration,
    valid_from: new Date(x.validFrom).toISOString().replace(/\.000Z$/, 'Z'),
    expiration_time: new Date(x.validTo).toISOString().replace(/\.000Z$/, 'Z'),
  }], 'the leaf only, not the CA appended to the chain');
  t.match(first.cert_chain[0].days_until_expiration, /^[0-9]$/, 'whole days, a string (test certificates live two days)');
  t.match(first.cert_chain[0].valid_from, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.equal(first.ca_cert.length, 1);
  t.equal(first.ca_cert[0].path, ca.certFile);
  t.same(first.ca_cert[0].subject_alt_names, []);
  t.same(second.ca_cert, [], 'no validation context: no CA');
  t.equal(second.cert_chain[0].path, '<inline>', 'inline data is <inline>, as Envoy');
  t.same(third.cert_chain, [], 'a cluster without a client certificate');
  t.equal(third.ca_cert[0].path, '<inline>');
});
