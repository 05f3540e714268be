// Istio's JWT authorization (issue #18): a RequestAuthentication and AuthorizationPolicies on JWT
// claims, pushed over ADS from a real xDS server as istiod writes them for a sidecar's inbound
// listener: jwt_authn with payload_in_metadata "payload" and space-delimited claims, then istiod's
// DENY and ALLOW rbac filters whose principals match the envoy.filters.http.jwt_authn dynamic
// metadata (request.auth.principal as iss and sub, a string claim, a list claim such as groups, a
// nested claim, request.auth.audiences, scope split into a list; the extended form: a list holding
// one of the values, or the value itself). Tokens are signed here; a real upstream answers; the
// access log prints %DYNAMIC_METADATA(envoy.filters.http.jwt_authn:payload:sub)%. A request with
// no token is refused by the ALLOW policy (403), one from another issuer by jwt_authn (401).
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fileAccessLog, HCM_TYPE, ROUTER_TYPE, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, adsBootstrap, answerTo, startManagementServer } from '../../support/xds-proxy.ts';

const TYPE = 'type.googleapis.com/';
const ISSUER = 'https://accounts.example.com';
const JWT_FILTER = 'envoy.filters.http.jwt_authn';
const INBOUND_CLUSTER = 'inbound|8080||';

function signJwt(key: KeyObject, claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const data = `${part({ alg: 'RS256', typ: 'JWT', kid: 'key-1' })}.${part(claims)}`;
  return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
}

// istiod's matchers (pilot/pkg/security/authz): exact strings, a claim by its path under the
// payload, and the extended form for claims that may be lists.
const exact = (value: string) => ({ string_match: { exact: value } });
const claim = (path: string[], value: object) => ({ metadata: { filter: JWT_FILTER, path: ['payload', ...path].map((key) => ({ key })), value } });
const listOrValue = (path: string[], values: string[]) => {
  const value = values.length === 1 ? exact(values[0]) : { or_match: { value_matchers: values.map(exact) } };
  return claim(path, { or_match: { value_matchers: [{ list_match: { one_of: value } }, value] } });
};
const requestPrincipal = (iss: string, sub: string) => ({ and_ids: { ids: [claim(['iss'], exact(iss)), claim(['sub'], exact(sub))] } });
const onPath = (prefix: string) => ({ and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { prefix } } }] } }] } });
const policy = (path: string, principal: object) => ({ permissions: [onPath(path)], principals: [{ and_ids: { ids: [{ or_ids: { ids: [principal] } }] } }] });

t.test('RequestAuthentication and AuthorizationPolicy on JWT claims, as istiod writes them', { timeout: 30_000 }, async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwks = JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'key-1', alg: 'RS256' }] });
  const dir = mkdtempSync(join(tmpdir(), 'legate-jwt-authz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'access.log');
  const app = await startUpstream('app', echoHandler('app'));
  t.teardown(() => app.close());

  const jwtAuthn = {
    name: JWT_FILTER,
    typed_config: {
      '@type': `${TYPE}envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication`,
      providers: {
        'origins-0': {
          issuer: ISSUER,
          local_jwks: { inline_string: jwks },
          payload_in_metadata: 'payload',
          normalize_payload_in_metadata: { space_delimited_claims: ['permission', 'scope'] },
        },
      },
      rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] } } }],
      bypass_cors_preflight: true,
    },
  };
  const rbac = (action: 'ALLOW' | 'DENY', policies: Record<string, object>) => ({
    name: 'envoy.filters.http.rbac',
    typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.rbac.v3.RBAC`, rules: { action, policies } },
  });
  const deny = rbac('DENY', { 'ns[default]-policy[deny-banned]-rule[0]': policy('/', listOrValue(['groups'], ['banned'])) });
  const allow = rbac('ALLOW', {
    'ns[default]-policy[admins]-rule[0]': policy('/admin', requestPrincipal(ISSUER, 'alice')),
    'ns[default]-policy[dev-group]-rule[0]': policy('/groups', listOrValue(['groups'], ['dev', 'ops'])),
    'ns[default]-policy[role]-rule[0]': policy('/role', listOrValue(['role'], ['editor'])),
    'ns[default]-policy[team]-rule[0]': policy('/team', listOrValue(['org', 'team'], ['core'])),
    'ns[default]-policy[audience]-rule[0]': policy('/aud', listOrValue(['aud'], ['api.example.com'])),
    'ns[default]-policy[scope]-rule[0]': policy('/scope', listOrValue(['scope'], ['write'])),
  });
  const format = '%REQ(:PATH)% %RESPONSE_CODE% sub=%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:payload:sub)% scope=%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:payload:scope)%\n';
  const xds = await startManagementServer(t);
  xds.setResources(CLUSTER_TYPE_URL, 'c1', [{ '@type': `${TYPE}envoy.config.cluster.v3.Cluster`, ...staticCluster(INBOUND_CLUSTER, [{ port: app.port }]) }]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', [{
    '@type': `${TYPE}envoy.config.listener.v3.Listener`,
    name: 'virtualInbound',
    address: socketAddress('127.0.0.1', 0),
    traffic_direction: 'INBOUND',
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: 'inbound_0.0.0.0_8080',
      route_config: routes([{ match: { prefix: '/' }, route: { cluster: INBOUND_CLUSTER } }]),
      http_filters: [jwtAuthn, deny, allow, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      access_log: [fileAccessLog(logPath, format)],
    } }] }],
  } as never]);
  const legate = await startLegate(adsBootstrap(xds.port));
  t.teardown(() => legate.stop());
  t.equal((await answerTo(xds, LISTENER_TYPE_URL)).error_detail, undefined, 'the listener with metadata principals is ACKed');

  const now = Math.floor(Date.now() / 1000);
  const token = (claims: Record<string, unknown>, key = rsa.privateKey) => signJwt(key, { iss: ISSUER, exp: now + 600, ...claims });
  const alice = token({ sub: 'alice', aud: ['api.example.com', 'other'], groups: ['dev', 'readers'], role: 'editor', org: { team: 'core' }, scope: 'read write' });
  const bob = token({ sub: 'bob', aud: 'elsewhere', groups: ['readers'], role: 'viewer', org: { team: 'web' }, scope: 'read' });
  const mallory = token({ sub: 'mallory', groups: ['dev', 'banned'], role: 'editor' });
  const get = async (path: string, jwt?: string) => {
    const reply = await fetchText(legate.url(path, 'virtualInbound'), { headers: jwt === undefined ? {} : { authorization: `Bearer ${jwt}` } });
    return { status: reply.status, body: reply.body, echo: reply.status === 200 ? (JSON.parse(reply.body) as Echo) : undefined };
  };

  const cases: [path: string, jwt: string | undefined, status: number, why: string][] = [
    ['/admin/x', alice, 200, 'request.auth.principal: iss/sub matches'],
    ['/admin/x', bob, 403, 'request.auth.principal: another subject'],
    ['/groups', alice, 200, 'a list claim holding one of the values'],
    ['/groups', bob, 403, 'a list claim holding none of them'],
    ['/role', alice, 200, 'a string claim equal to the value'],
    ['/role', bob, 403, 'a string claim with another value'],
    ['/team', alice, 200, 'a nested claim (org.team)'],
    ['/team', bob, 403, 'a nested claim with another value'],
    ['/aud', alice, 200, 'request.auth.audiences: one of a list of audiences'],
    ['/aud', bob, 403, 'request.auth.audiences: a single other audience'],
    ['/scope', alice, 200, 'scope, space-delimited, split into a list'],
    ['/scope', bob, 403, 'scope without the value'],
    ['/admin/x', undefined, 403, 'no token: allowed by jwt_authn, refused by the ALLOW policy'],
    ['/groups', mallory, 403, 'the DENY policy on a list claim wins over an ALLOW that matches'],
  ];
  for (const [path, jwt, status, why] of cases) {
    const reply = await get(path, jwt);
    t.equal(reply.status, status, `${path}: ${why}`);
    if (status === 403) t.equal(reply.body, 'RBAC: access denied');
  }
  const seen = await get('/role', alice);
  t.equal(seen.echo?.headers.authorization, undefined, 'the verified token is not forwarded (forward unset)');

  const wrongIssuer = await get('/admin/x', signJwt(stranger.privateKey, { iss: 'https://evil.example', sub: 'alice', exp: now + 600 }));
  t.equal(wrongIssuer.status, 401, 'a token from another issuer is refused by jwt_authn');
  t.equal(wrongIssuer.body, 'Jwt issuer is not configured');
  const forged = await get('/admin/x', token({ sub: 'alice' }, stranger.privateKey));
  t.equal(forged.status, 401, 'a token of the issuer signed with another key');
  t.equal(forged.body, 'Jwt verification fails');

  const lines = await waitForLines(logPath, cases.length + 3); // and the three requests after them
  t.ok(lines.includes('/team 200 sub=alice scope=["read","write"]'), 'the access log prints the payload\'s claims from dynamic metadata');
  t.ok(lines.includes('/admin/x 403 sub=- scope=-'), 'no token: no payload, printed as -');
  t.ok(lines.includes('/admin/x 401 sub=- scope=-'), 'a refused token leaves no payload');
  t.ok(lines.includes('/admin/x 403 sub=bob scope=["read"]'), 'a denied request still logs who it was');
});
