// /config_dump never shows key material: the model's PEM private keys and, in the raw resources
// config sources add (xDS), a private_key DataSource's inline value; where a key came from stays.
import t from 'tap';
import type { AdminContext } from '../../../proxy/admin/context.ts';
import { configDump } from '../../../proxy/admin/handlers/config-dump.ts';

const KEY = '-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n';

t.test('private keys are redacted', async (t) => {
  const certificate = { certificateChain: '-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n', privateKey: KEY, source: '/etc/certs/tls.crt' };
  const ctx = {
    node: { id: 'n', cluster: 'c' },
    snapshot: {
      version: 1,
      versions: { lds: '1', cds: '1', rds: {} },
      listeners: [{ name: 'l', filterChains: [{ tls: { certificates: [certificate] } }] }],
      clusters: [{ name: 'c', tls: { certificates: [certificate] } }],
      routeConfigs: {},
    },
    configDumpExtras: () => ({
      dynamic_listeners: [{ raw: { filter_chains: [{ transport_socket: { typed_config: { common_tls_context: { tls_certificates: [
        { certificate_chain: { filename: '/etc/certs/tls.crt' }, private_key: { inline_string: KEY } },
        { private_key: { filename: '/etc/certs/tls.key' } },
      ] } } } }] } }],
    }),
  } as unknown as AdminContext;
  const response = await configDump(ctx, { method: 'GET', url: new URL('http://admin/config_dump') });
  t.notOk(response.body.includes('SECRETKEYBYTES'), 'no key bytes anywhere');
  t.ok(response.body.includes('/etc/certs/tls.crt'), 'the certificate source stays');
  t.ok(response.body.includes('/etc/certs/tls.key'), 'a key file name stays');
  t.ok(response.body.includes('CERT'), 'certificates are not secret');
  t.equal(response.body.match(/\[redacted\]/g)?.length, 3, 'two model keys and one inline raw key');
});
