// The server name a request gives an auto_sni / auto_san_validation cluster.
import t from 'tap';
import { autoSniOptions } from '../../../proxy/router/auto-sni.ts';

const both = { sni: true, sanValidation: true, header: '' };

t.test('the host without its port is the SNI and the SAN', async (t) => {
  t.same(autoSniOptions(both, { host: 'a.test' }), { serverName: 'a.test', verifySan: 'a.test' });
  t.same(autoSniOptions(both, { host: 'a.test:8443' }), { serverName: 'a.test', verifySan: 'a.test' });
  t.same(autoSniOptions({ ...both, sanValidation: false }, { host: 'a.test' }), { serverName: 'a.test' });
  t.same(autoSniOptions({ ...both, sni: false }, { host: 'a.test' }), { verifySan: 'a.test' });
});

t.test('an IP address is never the SNI, but still the SAN', async (t) => {
  t.same(autoSniOptions(both, { host: '10.0.0.1:80' }), { verifySan: '10.0.0.1' });
  t.same(autoSniOptions(both, { host: '[::1]:80' }), { verifySan: '::1' });
  t.same(autoSniOptions(both, { host: '::1' }), { verifySan: '::1' });
  t.equal(autoSniOptions({ ...both, sanValidation: false }, { host: '10.0.0.1' }), undefined);
});

t.test('override_auto_sni_header when present and not empty, else the host', async (t) => {
  const header = { ...both, header: 'x-name' };
  t.same(autoSniOptions(header, { host: 'a.test', 'x-name': 'b.test' }), { serverName: 'b.test', verifySan: 'b.test' });
  t.same(autoSniOptions(header, { host: 'a.test', 'x-name': '' }), { serverName: 'a.test', verifySan: 'a.test' });
  t.same(autoSniOptions(header, { host: 'a.test' }), { serverName: 'a.test', verifySan: 'a.test' });
  t.equal(autoSniOptions(both, {}), undefined, 'no host: the configured sni');
});
