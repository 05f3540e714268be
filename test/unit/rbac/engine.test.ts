// The RBAC engine against Envoy's semantics: each permission and principal kind, and/or/not
// nesting, ALLOW and DENY with the first matching policy (by name) as the decision's policy, and
// the filter-side check: shadow rules counted and never enforced, no rules allowing everything.
import t from 'tap';
import type { HeaderMatcher, RbacConfig, RbacPermission, RbacPrincipal, RbacRules, StringMatcher } from '../../../proxy/config/model.ts';
import { deniedDetails, policySetOf, RbacCheck, RbacEngine, type RbacInput } from '../../../proxy/rbac/index.ts';
import { Store } from '../../../proxy/stats/index.ts';

const exact = (value: string): StringMatcher => ({ kind: 'exact', value, ignoreCase: false });
const prefix = (value: string): StringMatcher => ({ kind: 'prefix', value, ignoreCase: false });
const header = (name: string, value: string): HeaderMatcher => ({
  name,
  kind: 'exact',
  value,
  ignoreCase: false,
  presentMatch: false,
  invertMatch: false,
  treatMissingHeaderAsEmpty: false,
});

const base: RbacInput = {
  request: { authority: 'svc', path: '/api/items?x=1', method: 'GET', scheme: 'http', headers: { 'x-team': 'blue' } },
  directRemoteIp: '10.0.0.5',
  remoteIp: '203.0.113.7',
  localIp: '127.0.0.1',
  localPort: 8080,
  serverName: 'svc.example',
};
const input = (over: Partial<RbacInput> = {}): RbacInput => ({ ...base, ...over });

function permitted(rule: RbacPermission, at: RbacInput): boolean {
  return new RbacEngine({ action: 'ALLOW', policies: [{ name: 'p', permissions: [rule], principals: [{ kind: 'any' }] }] }).evaluate(at).allowed;
}
function identified(id: RbacPrincipal, at: RbacInput): boolean {
  return new RbacEngine({ action: 'ALLOW', policies: [{ name: 'p', permissions: [{ kind: 'any' }], principals: [id] }] }).evaluate(at).allowed;
}

t.test('permissions', async (t) => {
  t.ok(permitted({ kind: 'any' }, input()));
  t.ok(permitted({ kind: 'header', matcher: header(':method', 'GET') }, input()), ':method pseudo-header');
  t.notOk(permitted({ kind: 'header', matcher: header(':method', 'POST') }, input()));
  t.ok(permitted({ kind: 'header', matcher: header('x-team', 'blue') }, input()));
  t.notOk(permitted({ kind: 'header', matcher: header('x-team', 'blue') }, input({ request: undefined })), 'no headers on a connection');
  t.ok(permitted({ kind: 'url_path', matcher: exact('/api/items') }, input()), 'url_path leaves the query out');
  t.notOk(permitted({ kind: 'url_path', matcher: exact('/api/items?x=1') }, input()));
  t.ok(permitted({ kind: 'url_path', matcher: exact('/a') }, input({ request: { ...base.request!, path: '/a#frag' } })), 'and the fragment');
  t.ok(permitted({ kind: 'header', matcher: header(':path', '/api/items?x=1') }, input()), ':path keeps it');
  t.ok(permitted({ kind: 'destination_ip', range: { addressPrefix: '127.0.0.0', prefixLen: 8 } }, input()));
  t.notOk(permitted({ kind: 'destination_ip', range: { addressPrefix: '10.0.0.0', prefixLen: 8 } }, input()));
  t.ok(permitted({ kind: 'destination_ip', range: { addressPrefix: '127.0.0.1', prefixLen: 32 } }, input({ localIp: '::ffff:127.0.0.1' })), 'IPv4-mapped IPv6');
  t.notOk(permitted({ kind: 'destination_ip', range: { addressPrefix: '::', prefixLen: 0 } }, input()), 'an IPv6 range does not hold IPv4');
  t.ok(permitted({ kind: 'destination_port', port: 8080 }, input()));
  t.notOk(permitted({ kind: 'destination_port', port: 80 }, input()));
  t.ok(permitted({ kind: 'destination_port_range', start: 8000, end: 8081 }, input()));
  t.notOk(permitted({ kind: 'destination_port_range', start: 8000, end: 8080 }, input()), 'end is exclusive');
  t.ok(permitted({ kind: 'requested_server_name', matcher: { kind: 'suffix', value: '.example', ignoreCase: false } }, input()));
  t.notOk(permitted({ kind: 'requested_server_name', matcher: exact('other') }, input()));
});

t.test('permission sets', async (t) => {
  const get: RbacPermission = { kind: 'header', matcher: header(':method', 'GET') };
  const admin: RbacPermission = { kind: 'url_path', matcher: prefix('/admin') };
  t.notOk(permitted({ kind: 'and', rules: [get, admin] }, input()));
  t.ok(permitted({ kind: 'or', rules: [get, admin] }, input()));
  t.ok(permitted({ kind: 'not', rule: admin }, input()));
  t.ok(permitted({ kind: 'and', rules: [get, { kind: 'not', rule: admin }] }, input()), 'nested');
  t.notOk(permitted({ kind: 'or', rules: [{ kind: 'not', rule: get }, admin] }, input()));
});

t.test('principals', async (t) => {
  const spiffe = 'spiffe://cluster.local/ns/default/sa/sleep';
  const peer = { uriSans: [spiffe], dnsSans: ['sleep.default.svc'], subject: 'CN=sleep,O=test' };
  const named = (m: StringMatcher): RbacPrincipal => ({ kind: 'authenticated', principalName: m });
  t.ok(identified({ kind: 'any' }, input()));
  t.ok(identified(named(exact(spiffe)), input({ peer })), 'URI SAN');
  t.ok(identified(named(exact('sleep.default.svc')), input({ peer })), 'DNS SAN');
  t.ok(identified(named(exact('CN=sleep,O=test')), input({ peer })), 'subject');
  t.notOk(identified(named(exact('spiffe://cluster.local/ns/default/sa/other')), input({ peer })));
  t.notOk(identified(named(exact(spiffe)), input()), 'a plain connection is not authenticated');
  t.ok(identified({ kind: 'authenticated' }, input({ peer: { uriSans: [], dnsSans: [], subject: '' } })), 'no principal_name: any TLS peer');
  t.notOk(identified({ kind: 'authenticated' }, input()));
  t.ok(identified({ kind: 'direct_remote_ip', range: { addressPrefix: '10.0.0.0', prefixLen: 24 } }, input()));
  t.notOk(identified({ kind: 'direct_remote_ip', range: { addressPrefix: '203.0.113.0', prefixLen: 24 } }, input()), 'direct ignores XFF');
  t.ok(identified({ kind: 'remote_ip', range: { addressPrefix: '203.0.113.0', prefixLen: 24 } }, input()), 'remote is the XFF-derived address');
  t.notOk(identified({ kind: 'remote_ip', range: { addressPrefix: '10.0.0.0', prefixLen: 8 } }, input()));
  t.notOk(identified({ kind: 'remote_ip', range: { addressPrefix: '0.0.0.0', prefixLen: 0 } }, input({ remoteIp: '' })), 'no address (unix socket)');
  t.ok(identified({ kind: 'header', matcher: header('x-team', 'blue') }, input()));
  t.ok(identified({ kind: 'url_path', matcher: prefix('/api/') }, input()));
  t.ok(identified({ kind: 'and', ids: [{ kind: 'any' }, { kind: 'header', matcher: header('x-team', 'blue') }] }, input()));
  t.notOk(identified({ kind: 'and', ids: [{ kind: 'any' }, { kind: 'header', matcher: header('x-team', 'red') }] }, input()));
  t.ok(identified({ kind: 'or', ids: [{ kind: 'header', matcher: header('x-team', 'red') }, { kind: 'any' }] }, input()));
  t.notOk(identified({ kind: 'not', id: { kind: 'any' } }, input()));
});

t.test('ALLOW and DENY, and the policy that decided', async (t) => {
  const policies: RbacRules['policies'] = [
    { name: 'a-get', permissions: [{ kind: 'header', matcher: header(':method', 'GET') }], principals: [{ kind: 'any' }] },
    { name: 'b-any', permissions: [{ kind: 'any' }], principals: [{ kind: 'header', matcher: header('x-team', 'blue') }] },
  ];
  const allow = new RbacEngine({ action: 'ALLOW', policies });
  t.same(allow.evaluate(input()), { allowed: true, policy: 'a-get' }, 'the first policy by name');
  t.same(allow.evaluate(input({ request: { ...base.request!, method: 'POST', headers: {} } })), { allowed: false, policy: undefined });
  const deny = new RbacEngine({ action: 'DENY', policies });
  t.same(deny.evaluate(input()), { allowed: false, policy: 'a-get' });
  t.same(deny.evaluate(input({ request: { ...base.request!, method: 'POST', headers: {} } })), { allowed: true, policy: undefined });
  t.equal(deniedDetails({ allowed: false, policy: 'ns[default]-policy[deny path]-rule[0]' }), 'rbac_access_denied_matched_policy[ns[default]-policy[deny_path]-rule[0]]');
  t.equal(deniedDetails({ allowed: false, policy: undefined }), 'rbac_access_denied_matched_policy[none]');
});

t.test('the check: enforced and shadow rules, their counters', async (t) => {
  const denyAll: RbacRules = { action: 'DENY', policies: [{ name: 'all', permissions: [{ kind: 'any' }], principals: [{ kind: 'any' }] }] };
  const allowNone: RbacRules = { action: 'ALLOW', policies: [] };
  const store = new Store();
  const shadowOnly: RbacConfig = { shadowRules: denyAll, rulesStatPrefix: '', shadowRulesStatPrefix: 'istio_dry_run_allow_' };
  const check = new RbacCheck(store, 'http.ingress.', shadowOnly);
  t.equal(check.decide(policySetOf(shadowOnly), input()), undefined, 'shadow rules alone enforce nothing');
  t.equal(store.counter('http.ingress.rbac.istio_dry_run_allow_shadow_denied').value, 1);
  t.equal(store.counter('http.ingress.rbac.denied').value, 0);

  const both: RbacConfig = { rules: allowNone, shadowRules: denyAll, rulesStatPrefix: 'r_', shadowRulesStatPrefix: '' };
  const check2 = new RbacCheck(store, 'tcp_rbac', both);
  t.same(check2.decide(policySetOf(both), input()), { allowed: false, policy: undefined });
  t.equal(store.counter('tcp_rbac.rbac.r_denied').value, 1, 'a network stat_prefix without its dot gets one');
  t.equal(store.counter('tcp_rbac.rbac.shadow_denied').value, 1);

  const none: RbacConfig = { rulesStatPrefix: '', shadowRulesStatPrefix: '' };
  t.equal(new RbacCheck(store, 'x.', none).decide(policySetOf(none), input()), undefined, 'no rules: allowed, uncounted');
  t.equal(policySetOf(both), policySetOf(both), 'compiled once per config');
});

t.test('metadata principals and permissions match the dynamic metadata (jwt_authn\'s payload)', async (t) => {
  const claim = (path: string[], value: string, invert = false) => ({
    kind: 'metadata' as const,
    match: { filter: 'envoy.filters.http.jwt_authn', path: ['payload', ...path], value: { kind: 'string' as const, matcher: exact(value) }, invert },
  });
  const withToken = input({ dynamicMetadata: { 'envoy.filters.http.jwt_authn': { payload: { iss: 'https://issuer', sub: 'alice', org: { team: 'core' } } } } });
  t.ok(identified({ kind: 'and', ids: [claim(['iss'], 'https://issuer'), claim(['sub'], 'alice')] }, withToken), 'request.auth.principal');
  t.notOk(identified(claim(['sub'], 'bob'), withToken));
  t.ok(identified(claim(['org', 'team'], 'core'), withToken), 'a nested claim');
  t.notOk(identified(claim(['sub'], 'alice'), input()), 'no token, no dynamic metadata: no match');
  t.ok(identified(claim(['sub'], 'alice', true), input()), 'inverted, a missing claim matches');
  t.ok(permitted(claim(['sub'], 'alice'), withToken), 'as a permission too');
  t.notOk(permitted(claim(['sub'], 'alice'), input()));
});
