// SAN parsing and matching by Envoy's rules, without sockets.
import t from 'tap';
import type { SanMatcher, StringMatcher } from '../../../proxy/config/model.ts';
import { parseSubjectAltName, sanMatches } from '../../../proxy/transport/index.ts';

const m = (kind: StringMatcher['kind'], value: string, ignoreCase = false): StringMatcher => ({ kind, value, ignoreCase });

t.test('node\'s subjectaltname text by type', async (t) => {
  const sans = parseSubjectAltName('DNS:a.test, DNS:"b,c.test", URI:spiffe://cluster.local/ns/a/sa/b, IP Address:127.0.0.1, email:me@x.test');
  t.same(sans, { DNS: ['a.test', 'b,c.test'], URI: ['spiffe://cluster.local/ns/a/sa/b'], IP_ADDRESS: ['127.0.0.1'], EMAIL: ['me@x.test'] });
  t.same(parseSubjectAltName(undefined), { DNS: [], URI: [], IP_ADDRESS: [], EMAIL: [] });
});

t.test('any SAN of the matcher\'s type matching any matcher passes', async (t) => {
  const sans = parseSubjectAltName('DNS:web.test, URI:spiffe://cluster.local/ns/a/sa/b, IP Address:10.0.0.1');
  const uri = (matcher: StringMatcher): SanMatcher => ({ sanTypes: ['URI'], matcher });
  t.ok(sanMatches([uri(m('exact', 'spiffe://cluster.local/ns/a/sa/b'))], sans));
  t.ok(sanMatches([uri(m('exact', 'nope')), uri(m('prefix', 'spiffe://cluster.local/ns/a/'))], sans), 'the second matcher passes');
  t.notOk(sanMatches([uri(m('exact', 'spiffe://cluster.local/ns/a/sa/c'))], sans));
  t.notOk(sanMatches([{ sanTypes: ['DNS'], matcher: m('exact', 'spiffe://cluster.local/ns/a/sa/b') }], sans), 'a URI value does not pass a DNS matcher');
  t.ok(sanMatches([uri(m('safe_regex', 'spiffe://cluster\\.local/ns/[a-z]+/sa/b'))], sans));
  t.ok(sanMatches([uri(m('suffix', '/SA/B', true))], sans), 'ignore_case');
  t.ok(sanMatches([{ sanTypes: ['IP_ADDRESS'], matcher: m('exact', '10.0.0.1') }], sans));
  t.ok(sanMatches([{ sanTypes: ['DNS', 'URI', 'IP_ADDRESS', 'EMAIL'], matcher: m('contains', 'web') }], sans), 'the deprecated matcher looks at every type');
});

t.test('a wildcard DNS SAN satisfies an exact matcher one label deep', async (t) => {
  const sans = parseSubjectAltName('DNS:*.example.test');
  const dns = (value: string): SanMatcher[] => [{ sanTypes: ['DNS'], matcher: m('exact', value) }];
  t.ok(sanMatches(dns('api.example.test'), sans));
  t.notOk(sanMatches(dns('a.b.example.test'), sans));
  t.notOk(sanMatches(dns('example.test'), sans));
});
