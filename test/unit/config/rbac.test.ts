// The rbac filters translated: the HTTP filter with Istio's policy shapes (policies in name
// order), RBACPerRoute overrides, the network filter before a tcp_proxy, and what Legate refuses
// by name (CEL conditions, matcher trees, LOG, CONTINUOUS enforcement); metadata rules as istiod
// writes them for JWT claims.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, NetworkRbacConfig, RbacConfig } from '../../../proxy/config/model.ts';
import { bootstrap, httpListener, ROUTER_TYPE, routes, socketAddress, staticCluster, TCP_PROXY_TYPE } from '../../support/bootstrap.ts';

const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
const NETWORK_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';

const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };
const rbacFilter = (config: object) => ({ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC_TYPE, ...config } });

function translateHttp(config: object, routeList: object[] = [{ match: { prefix: '/' }, route: { cluster: 'c' } }]) {
  const boot = translateBootstrap(bootstrap([httpListener('l', routes(routeList), { http_filters: [rbacFilter(config), router] })], [staticCluster('c', [{ port: 1 }])]));
  const hcm = boot.listeners[0].filterChains[0].network as HttpConnectionManager;
  return { rbac: hcm.httpFilters[0].config as RbacConfig, routeConfig: boot.routeConfigs[hcm.routeConfigName] };
}

function tcpListener(filters: object[]) {
  return {
    name: 'tcp',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{ filters: [...filters, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 'tcp', cluster: 'c' } }] }],
  };
}

const istioAllow = {
  rules: {
    action: 'ALLOW',
    policies: {
      'ns[default]-policy[allow-sleep]-rule[0]': {
        permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }] } }] } }],
        principals: [{ and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/sleep' } } }] } }] } }],
      },
      'ns[default]-policy[a-first]-rule[0]': {
        permissions: [{ not_rule: { url_path: { path: { prefix: '/admin' } } } }, { destination_port_range: { start: 80, end: 90 } }],
        principals: [{ remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }, { source_ip: { address_prefix: '::1', prefix_len: 128 } }],
      },
    },
  },
  shadow_rules: { action: 'DENY', policies: { dry: { permissions: [{ requested_server_name: { suffix: '.local' } }], principals: [{ direct_remote_ip: { address_prefix: '127.0.0.1' } }] } } },
  shadow_rules_stat_prefix: 'istio_dry_run_allow_',
};

t.test('the HTTP filter with Istio-shaped policies', async (t) => {
  const { rbac } = translateHttp(istioAllow);
  t.equal(rbac.rules?.action, 'ALLOW');
  t.same(rbac.rules?.policies.map((p) => p.name), ['ns[default]-policy[a-first]-rule[0]', 'ns[default]-policy[allow-sleep]-rule[0]'], 'in name order');
  t.same(rbac.rules?.policies[1].principals[0], {
    kind: 'and',
    ids: [{ kind: 'or', ids: [{ kind: 'authenticated', principalName: { kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/sleep', ignoreCase: false } }] }],
  });
  t.same(rbac.rules?.policies[0].permissions, [
    { kind: 'not', rule: { kind: 'url_path', matcher: { kind: 'prefix', value: '/admin', ignoreCase: false } } },
    { kind: 'destination_port_range', start: 80, end: 90 },
  ]);
  t.same(rbac.rules?.policies[0].principals[1], { kind: 'direct_remote_ip', range: { addressPrefix: '::1', prefixLen: 128 } }, 'source_ip is the direct peer');
  t.same(rbac.shadowRules?.policies[0].principals[0], { kind: 'direct_remote_ip', range: { addressPrefix: '127.0.0.1', prefixLen: 0 } });
  t.equal(rbac.shadowRulesStatPrefix, 'istio_dry_run_allow_');
  t.same(translateHttp({}).rbac, { rulesStatPrefix: '', shadowRulesStatPrefix: '' }, 'no rules: allow everything');
});

t.test('RBACPerRoute overrides and disables', async (t) => {
  const { routeConfig } = translateHttp(istioAllow, [
    { match: { prefix: '/open' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': PER_ROUTE_TYPE } } },
    {
      match: { prefix: '/' },
      route: { cluster: 'c' },
      typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': PER_ROUTE_TYPE, rbac: { rules: { action: 'DENY', policies: { p: { permissions: [{ any: true }], principals: [{ any: true }] } } } } } },
    },
  ]);
  const [open, deny] = routeConfig.virtualHosts[0].routes.map((r) => r.typedPerFilterConfig['envoy.filters.http.rbac'] as RbacConfig);
  t.same(open, { rulesStatPrefix: '', shadowRulesStatPrefix: '' });
  t.equal(deny.rules?.action, 'DENY');
});

t.test('the network filter before a tcp_proxy', async (t) => {
  const config = { '@type': NETWORK_RBAC_TYPE, stat_prefix: 'tcp.', rules: { action: 'DENY', policies: { sni: { permissions: [{ requested_server_name: { exact: 'bad.example' } }], principals: [{ any: true }] } } } };
  const boot = translateBootstrap(bootstrap([tcpListener([{ name: 'envoy.filters.network.rbac', typed_config: config }])], [staticCluster('c', [{ port: 1 }])]));
  const rbac = boot.listeners[0].filterChains[0].rbac as NetworkRbacConfig[];
  t.equal(rbac.length, 1);
  t.equal(rbac[0].statPrefix, 'tcp.');
  t.same(rbac[0].rules?.policies[0].permissions, [{ kind: 'requested_server_name', matcher: { kind: 'exact', value: 'bad.example', ignoreCase: false } }]);
  t.equal(boot.listeners[0].filterChains[0].network.kind, 'tcp_proxy');
});

t.test("a principal on filter state: the object's text against a string matcher", async (t) => {
  const { rbac } = translateHttp({ rules: { policies: { p: { permissions: [{ any: true }], principals: [{ filter_state: { key: 'io.istio.peer_principal', string_match: { prefix: 'spiffe://cluster.local/ns/a/' } } }] } } } });
  t.same(rbac.rules?.policies[0].principals, [{ kind: 'filter_state', key: 'io.istio.peer_principal', matcher: { kind: 'prefix', value: 'spiffe://cluster.local/ns/a/', ignoreCase: false } }]);
  t.throws(() => translateHttp({ rules: { policies: { p: { permissions: [{ any: true }], principals: [{ filter_state: { key: 'k' } }] } } } }), /filter_state: one of 'string_match' is required/);
});

t.test('metadata principals and permissions as istiod writes them for JWT claims', async (t) => {
  const claim = (path: string[], value: object) => ({ metadata: { filter: 'envoy.filters.http.jwt_authn', path: path.map((key) => ({ key })), value } });
  const exact = (v: string) => ({ string_match: { exact: v } });
  const { rbac } = translateHttp({
    rules: {
      policies: {
        'ns[foo]-policy[jwt]-rule[0]': {
          permissions: [{ metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.claims' }, { key: 'iss' }], value: { list_match: { one_of: exact('https://issuer') } }, invert: true } }],
          principals: [
            { and_ids: { ids: [claim(['payload', 'iss'], exact('https://issuer')), claim(['payload', 'sub'], { string_match: { safe_regex: { regex: '.+' } } })] } },
            // useExtendedJwt: a list claim or the value itself, several values or'ed
            claim(['payload', 'groups'], { or_match: { value_matchers: [{ list_match: { one_of: { or_match: { value_matchers: [exact('a'), exact('b')] } } } }, { or_match: { value_matchers: [exact('a'), exact('b')] } }] } }),
            claim(['payload', 'n'], { double_match: { range: { start: 1, end: 5 } } }),
            claim(['payload', 'ok'], { bool_match: true }),
            claim(['payload', 'gone'], { null_match: {} }),
          ],
        },
      },
    },
  });
  const policy = rbac.rules!.policies[0];
  t.same(policy.permissions[0], {
    kind: 'metadata',
    match: { filter: 'istio_authn', path: ['request.auth.claims', 'iss'], value: { kind: 'list_one_of', item: { kind: 'string', matcher: { kind: 'exact', value: 'https://issuer', ignoreCase: false } } }, invert: true },
  });
  const ids = policy.principals;
  t.same((ids[0] as { ids: unknown[] }).ids[0], {
    kind: 'metadata',
    match: { filter: 'envoy.filters.http.jwt_authn', path: ['payload', 'iss'], value: { kind: 'string', matcher: { kind: 'exact', value: 'https://issuer', ignoreCase: false } }, invert: false },
  });
  const values = ids.slice(1).map((id) => (id as { match: { value: { kind: string } } }).match.value);
  t.same(values.map((v) => v.kind), ['or', 'double_range', 'bool', 'null']);
  t.same(values[1], { kind: 'double_range', start: 1, end: 5 });
});

t.test('refused by name', async (t) => {
  const policy = (extra: object) => ({ rules: { action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ any: true }], ...extra } } } });
  t.throws(() => translateHttp(policy({ condition: { const_expr: { bool_value: true } } })), /condition.*not supported by Legate/);
  const metadataRule = (metadata: object) => ({ rules: { policies: { p: { permissions: [{ metadata }], principals: [{ any: true }] } } } });
  t.throws(() => translateHttp(metadataRule({ filter: 'f', path: [{ key: 'k' }], value: {} })), /value: one of 'null_match'.*is required/);
  t.throws(() => translateHttp(metadataRule({ filter: 'f', path: [], value: { present_match: true } })), /path/);
  t.throws(() => translateHttp(metadataRule({ filter: 'f', path: [{ key: 'k' }], value: { or_match: { value_matchers: [{ null_match: {} }] } } })), /value_matchers/);
  t.throws(() => translateHttp(metadataRule({ filter: 'f', path: [{ key: 'k' }], value: { present_match: true }, sourced_metadata: {} })), /sourced_metadata/);
  t.throws(() => translateHttp({ rules: { action: 'LOG' } }), /action LOG is not supported by Legate/);
  t.throws(() => translateHttp({ matcher: { matcher_list: { matchers: [] } } }), /matcher.*not supported by Legate/);
  t.throws(() => translateHttp({ track_per_rule_stats: true }), /not supported by Legate/);
  t.throws(() => translateHttp({ rules: { policies: { p: { permissions: [], principals: [{ any: true }] } } } }), /permissions: required field is missing.*give at least 1/);
  const network = (extra: object) => tcpListener([{ name: 'envoy.filters.network.rbac', typed_config: { '@type': NETWORK_RBAC_TYPE, ...extra } }]);
  t.throws(() => translateBootstrap(bootstrap([network({ stat_prefix: 't', enforcement_type: 'CONTINUOUS' })], [staticCluster('c', [{ port: 1 }])])), /CONTINUOUS enforcement is not supported by Legate/);
  t.throws(() => translateBootstrap(bootstrap([network({})], [staticCluster('c', [{ port: 1 }])])), /stat_prefix/);
});
