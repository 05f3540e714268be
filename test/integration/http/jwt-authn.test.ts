// envoy.filters.http.jwt_authn against real keys and a real JWKS server: tokens signed here with
// node:crypto (RSA in a local JWKS, EC P-256 in a remote JWKS fetched through a cluster and cached),
// the claims and payload the upstream sees, Envoy's refusals (401 with www-authenticate, 403 for
// audiences), Istio's RequestAuthentication shape (requires_any [provider, allow_missing]), rules
// and per-route configs (requirement_name, disabled), and the filter's stats.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedPort, echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';

const JWT_AUTHN_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig';
const FILTER_NAME = 'envoy.filters.http.jwt_authn';

function signJwt(alg: 'RS256' | 'ES256', key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const data = Buffer.from(`${header}.${payload}`);
  const signature = alg === 'RS256' ? sign('sha256', data, key) : sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

t.test('jwt_authn: local and remote JWKS, claims upstream, Envoy\'s refusals, rules and per-route configs', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const localJwks = JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' }] });
  const remoteJwks = JSON.stringify({ keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256' }] });

  let jwksFetches = 0;
  const jwksServer = http.createServer((req, res) => {
    jwksFetches++;
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(remoteJwks);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    jwksServer.closeAllConnections();
    jwksServer.close();
  });
  const jwksPort = (jwksServer.address() as { port: number }).port;
  // A JWKS server that answers only when told: a request waiting for its keys can go away meanwhile.
  const held: http.ServerResponse[] = [];
  let onHeld: () => void = () => undefined;
  const slowJwks = http.createServer((_req, res) => {
    held.push(res);
    onHeld();
  });
  await new Promise<void>((resolve) => slowJwks.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    slowJwks.closeAllConnections();
    slowJwks.close();
  });
  const slowPort = (slowJwks.address() as { port: number }).port;
  const upstream = await startUpstream('app', echoHandler('app'));
  t.teardown(() => upstream.close());
  const refused = await closedPort();

  const remoteJwksAt = (cluster: string, port: number) => ({
    http_uri: { uri: `http://127.0.0.1:${port}/.well-known/jwks.json`, cluster, timeout: '1s' },
    cache_duration: '300s',
  });
  const jwtAuthn = {
    name: FILTER_NAME,
    typed_config: {
      '@type': JWT_AUTHN_TYPE,
      providers: {
        local: {
          issuer: 'https://local.example',
          audiences: ['api.example'],
          local_jwks: { inline_string: localJwks },
          forward_payload_header: 'x-jwt-payload',
          claim_to_headers: [
            { header_name: 'x-sub', claim_name: 'sub' },
            { header_name: 'x-tenant', claim_name: 'org.tenant' },
          ],
        },
        remote: {
          issuer: 'https://remote.example',
          remote_jwks: remoteJwksAt('jwks', jwksPort),
          from_headers: [{ name: 'x-remote-jwt' }],
          forward: true,
          jwt_cache_config: { jwt_cache_size: 10 },
        },
        // clear_route_cache: a claim copied into a header picks the route.
        routed: {
          issuer: 'https://routed.example',
          local_jwks: { inline_string: localJwks },
          from_headers: [{ name: 'x-routed-jwt' }],
          claim_to_headers: [{ header_name: 'x-tenant', claim_name: 'org.tenant' }],
          clear_route_cache: true,
        },
        slow: { issuer: 'https://slow.example', remote_jwks: remoteJwksAt('slowjwks', slowPort), from_headers: [{ name: 'x-slow-jwt' }] },
        broken: { issuer: 'https://broken.example', remote_jwks: remoteJwksAt('nowhere', refused), from_headers: [{ name: 'x-broken-jwt' }] },
      },
      rules: [
        // Istio's RequestAuthentication: a token is optional, but a bad one is refused.
        { match: { prefix: '/optional' }, requires: { requires_any: { requirements: [{ provider_name: 'local' }, { allow_missing: {} }] } } },
        { match: { prefix: '/remote' }, requires: { provider_name: 'remote' } },
        { match: { prefix: '/broken' }, requires: { provider_name: 'broken' } },
        { match: { prefix: '/claims' }, requires: { provider_name: 'routed' } },
        { match: { prefix: '/slow' }, requires: { provider_name: 'slow' } },
        { match: { prefix: '/either' }, requires: { requires_any: { requirements: [{ provider_name: 'local' }, { provider_name: 'remote' }] } } },
        { match: { prefix: '/' }, requires: { provider_name: 'local' } },
      ],
      requirement_map: { 'remote-only': { provider_name: 'remote' } },
    },
  };
  const route = (prefix: string, extra: object = {}) => ({ match: { prefix }, route: { cluster: 'app' }, ...extra });
  const routeConfig = {
    name: 'web',
    virtual_hosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: [
          route('/public', { typed_per_filter_config: { [FILTER_NAME]: { '@type': PER_ROUTE_TYPE, disabled: true } } }),
          { match: { prefix: '/claims', headers: [{ name: 'x-tenant', string_match: { exact: 't1' } }] }, direct_response: { status: 200, body: { inline_string: 'the t1 route' } } },
          route('/wrong-name', { typed_per_filter_config: { [FILTER_NAME]: { '@type': PER_ROUTE_TYPE, requirement_name: 'nope' } } }),
          route('/named', { typed_per_filter_config: { [FILTER_NAME]: { '@type': PER_ROUTE_TYPE, requirement_name: 'remote-only' } } }),
          route('/'),
        ],
      },
    ],
  };
  const routerFilter = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };
  const strict = { ...jwtAuthn, typed_config: { ...jwtAuthn.typed_config, strip_failure_response: true, bypass_cors_preflight: true } };
  const legate = await startLegate(bootstrap(
    [
      httpListener('web', routeConfig, { http_filters: [jwtAuthn, routerFilter] }),
      httpListener('strict', routeConfig, { http_filters: [strict, routerFilter] }),
    ],
    [staticCluster('app', [{ port: upstream.port }]), staticCluster('jwks', [{ port: jwksPort }]), staticCluster('nowhere', [{ port: refused }]), staticCluster('slowjwks', [{ port: slowPort }])],
  ));
  t.teardown(() => legate.stop());
  const get = (path: string, headers: Record<string, string> = {}) => nodeRequest(legate.url(path, 'web'), { headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: 'https://local.example', aud: 'api.example', sub: 'alice', org: { tenant: 't1' }, iat: now, exp: now + 600 };
  const good = signJwt('RS256', rsa.privateKey, 'rsa-1', claims);

  const ok = await get('/api', { ...bearer(good), 'x-sub': 'forged' });
  t.equal(ok.status, 200, 'a valid RS256 token from the local JWKS');
  const echo = JSON.parse(ok.body) as Echo;
  t.equal(echo.headers['x-sub'], 'alice', 'claim_to_headers: sub (a client\'s own value replaced)');
  t.equal(echo.headers['x-tenant'], 't1', 'claim_to_headers: a nested claim');
  t.same(JSON.parse(Buffer.from(String(echo.headers['x-jwt-payload']), 'base64url').toString()), claims, 'forward_payload_header: the payload, base64url');
  t.notOk(String(echo.headers['x-jwt-payload']).includes('='), 'unpadded');
  t.equal(echo.headers.authorization, undefined, 'forward unset: the token stays here');
  const byParam = await get(`/api?a=1&access_token=${good}`);
  t.equal(byParam.status, 200, 'the access_token query parameter is a default location');
  t.equal((JSON.parse(byParam.body) as Echo).url, '/api?a=1', 'and the token is taken out of the query (forward unset)');

  const realm = `http://127.0.0.1:${legate.port('web')}`;
  const expired = await get('/api/x?q=1', bearer(signJwt('RS256', rsa.privateKey, 'rsa-1', { ...claims, exp: now - 120 })));
  t.equal(expired.status, 401);
  t.equal(expired.body, 'Jwt is expired');
  t.equal(expired.headers['www-authenticate'], `Bearer realm="${realm}/api/x?q=1", error="invalid_token"`);
  t.equal((await get('/api', bearer(signJwt('RS256', rsa.privateKey, 'rsa-1', { ...claims, exp: now - 30 })))).status, 200, 'expired within clock_skew_seconds (60) still passes');
  const early = await get('/api', bearer(signJwt('RS256', rsa.privateKey, 'rsa-1', { ...claims, nbf: now + 300 })));
  t.equal(early.status, 401);
  t.equal(early.body, 'Jwt not yet valid');

  const wrongIssuer = await get('/api', bearer(signJwt('RS256', rsa.privateKey, 'rsa-1', { ...claims, iss: 'https://evil.example' })));
  t.equal(wrongIssuer.status, 401);
  t.equal(wrongIssuer.body, 'Jwt issuer is not configured');
  const wrongAudience = await get('/api', bearer(signJwt('RS256', rsa.privateKey, 'rsa-1', { ...claims, aud: ['other.example'] })));
  t.equal(wrongAudience.status, 403, 'audiences not allowed: 403');
  t.equal(wrongAudience.body, 'Audiences in Jwt are not allowed');
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forged = await get('/api', bearer(signJwt('RS256', otherKey.privateKey, 'rsa-1', claims)));
  t.equal(forged.status, 401);
  t.equal(forged.body, 'Jwt verification fails');
  const unknownKid = await get('/api', bearer(signJwt('RS256', rsa.privateKey, 'rsa-2', claims)));
  t.equal(unknownKid.body, 'Jwks doesn\'t have key to match kid or alg from Jwt');
  const garbage = await get('/api', bearer('not-a-jwt'));
  t.equal(garbage.status, 401);
  t.equal(garbage.body, 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');

  const missing = await get('/api');
  t.equal(missing.status, 401, 'no token where one is required');
  t.equal(missing.body, 'Jwt is missing');
  t.equal(missing.headers['www-authenticate'], `Bearer realm="${realm}/api"`, 'no error="invalid_token" for a missing token');

  const anonymous = await get('/optional', { 'x-jwt-payload': 'forged', 'x-sub': 'forged' });
  t.equal(anonymous.status, 200, 'Istio\'s shape: no token passes (allow_missing)');
  t.equal((JSON.parse(anonymous.body) as Echo).headers['x-jwt-payload'], undefined, 'a client\'s own payload header is removed');
  t.equal((JSON.parse(anonymous.body) as Echo).headers['x-sub'], undefined, 'and its own claim headers');
  t.equal((await get('/optional', bearer(good))).status, 200, 'a good token passes');
  const optionalBad = await get('/optional', bearer(signJwt('RS256', otherKey.privateKey, 'rsa-1', claims)));
  t.equal(optionalBad.status, 401, 'a bad token is refused even where tokens are optional');
  t.equal(optionalBad.body, 'Jwt verification fails');

  t.equal((await get('/public/page')).status, 200, 'PerRouteConfig disabled: no check');

  // The remote JWKS: fetched once through the jwks cluster, then cached.
  const remoteToken = signJwt('ES256', ec.privateKey, 'ec-1', { iss: 'https://remote.example', sub: 'bob', exp: now + 600 });
  const first = await get('/remote', { 'x-remote-jwt': remoteToken });
  t.equal(first.status, 200, 'ES256 with the remote JWKS');
  t.equal((JSON.parse(first.body) as Echo).headers['x-remote-jwt'], remoteToken, 'forward: true keeps the token');
  t.equal((await get('/remote', { 'x-remote-jwt': remoteToken })).status, 200);
  t.equal((await get('/named', { 'x-remote-jwt': signJwt('ES256', ec.privateKey, 'ec-1', { iss: 'https://remote.example', exp: now + 60 }) })).status, 200, 'requirement_name from the route');
  t.equal(jwksFetches, 1, 'the JWKS was fetched once and cached');
  const namedMissing = await get('/named', bearer(good));
  t.equal(namedMissing.status, 401, 'the route\'s requirement replaces the rules: the local token is not looked at');
  t.equal(namedMissing.body, 'Jwt is missing');
  t.equal((await get('/either', bearer(good))).status, 200, 'requires_any: the first provider');
  t.equal((await get('/either', { 'x-remote-jwt': remoteToken })).status, 200, 'requires_any: the second provider');

  const broken = await get('/broken', { 'x-broken-jwt': signJwt('RS256', rsa.privateKey, 'rsa-1', { iss: 'https://broken.example', exp: now + 60 }) });
  t.equal(broken.status, 401);
  t.equal(broken.body, 'Jwks remote fetch is failed');

  const claimsToken = signJwt('RS256', rsa.privateKey, 'rsa-1', { iss: 'https://routed.example', org: { tenant: 't1' }, exp: now + 60 });
  const routedByClaim = await get('/claims', { 'x-routed-jwt': claimsToken, 'x-tenant': 't2' });
  t.equal(routedByClaim.body, 'the t1 route', 'clear_route_cache: the claim header (replacing the client\'s) chose the route');
  t.equal((await get('/claims', { 'x-tenant': 't1' })).status, 401, 'a client\'s own header does not get past the filter');

  const stripped = await nodeRequest(legate.url('/api', 'strict'));
  t.equal(stripped.status, 401);
  t.equal(stripped.body, '', 'strip_failure_response: no reason');
  t.equal(stripped.headers['www-authenticate'], undefined, 'and no challenge');
  const preflight = await nodeRequest(legate.url('/api', 'strict'), { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
  t.equal(preflight.status, 200, 'bypass_cors_preflight: a preflight needs no token');

  const wrongName = await get('/wrong-name', bearer(good));
  t.equal(wrongName.status, 403, 'a route naming no requirement of the filter');
  t.equal(wrongName.body, 'Failed JWT authentication: Wrong requirement_name is provided: nope');

  // Two requests needing keys not fetched yet: both wait for the one fetch.
  const slowToken = signJwt('ES256', ec.privateKey, 'ec-1', { iss: 'https://slow.example', exp: now + 60 });
  const fetching = new Promise<void>((resolve) => (onHeld = resolve));
  const requestsSoFar = async () => (await statsMap(legate.adminUrl(''))).get('http.web.downstream_rq_http1_total') ?? 0;
  const before = await requestsSoFar();
  const slowFirst = get('/slow', { 'x-slow-jwt': slowToken });
  await fetching;
  const slowSecond = get('/slow', { 'x-slow-jwt': slowToken });
  await waitFor('the second request to wait too', async () => ((await requestsSoFar()) >= before + 2 ? true : undefined));
  held[0].writeHead(200, { 'content-type': 'application/json' }).end(remoteJwks);
  t.same([(await slowFirst).status, (await slowSecond).status], [200, 200], 'both verified with the keys of one fetch');
  t.equal(held.length, 1, 'fetched once');

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.web.jwt_authn.jwks_fetch_success'), 2);
  t.equal(stats.get('http.web.jwt_authn.jwks_fetch_failed'), 1);
  t.equal(stats.get('http.strict.jwt_authn.cors_preflight_bypassed'), 1);
  t.equal(stats.get('http.web.jwt_authn.jwt_cache_hit'), 2, 'the remote provider\'s verified token came from its cache (twice)');
  t.equal(stats.get('http.web.jwt_authn.denied'), 13);
  t.equal(stats.get('http.web.jwt_authn.allowed'), 14);
});
