// /config_dump never shows key material (Envoy's sensitive fields: private keys, passwords,
// session ticket keys, generic secrets) wherever it appears in the sections; where a key is read
// from (a file, an environment variable) stays.
import t from 'tap';
import type { AdminContext } from '../../../proxy/admin/context.ts';
import { configDump } from '../../../proxy/admin/handlers/config-dump.ts';

const KEY = '-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n';

t.test('key material is redacted', async (t) => {
  const tlsContext = {
    common_tls_context: {
      tls_certificates: [
        { certificate_chain: { filename: '/etc/certs/tls.crt' }, private_key: { inline_string: KEY }, password: { inline_string: 'SECRETPASSWORD' } },
        { certificate_chain: { inline_string: '-----BEGIN CERTIFICATE-----\nCERT\n' }, private_key: { filename: '/etc/certs/tls.key' } },
      ],
    },
    session_ticket_keys: { keys: [{ inline_bytes: 'U0VDUkVUVElDS0VU' }] },
  };
  const ctx = {
    configDump: () => [
      { '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', static_listeners: [{ listener: { name: 'l', filter_chains: [{ transport_socket: { typed_config: tlsContext } }] } }] },
      { '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump', static_secrets: [{ name: 's', secret: { name: 's', generic_secret: { secret: { inline_string: 'SECRETGENERIC' } } } }] },
    ],
  } as unknown as AdminContext;
  const response = await configDump(ctx, { method: 'GET', url: new URL('http://admin/config_dump') });
  for (const secret of ['SECRETKEYBYTES', 'SECRETPASSWORD', 'U0VDUkVUVElDS0VU', 'SECRETGENERIC']) t.notOk(response.body.includes(secret), `no ${secret}`);
  t.ok(response.body.includes('/etc/certs/tls.crt'), 'the certificate source stays');
  t.ok(response.body.includes('/etc/certs/tls.key'), 'a key file name stays');
  t.ok(response.body.includes('CERT'), 'certificates are not secret');
  t.equal(response.body.match(/\[redacted\]/g)?.length, 4, 'one key, one password, one ticket key, one generic secret');
});
