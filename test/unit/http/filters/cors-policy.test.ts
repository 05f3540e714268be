// The CORS policy as the cors filter resolves it: each field from the most specific scope that sets
// it, enabled/shadow from the most specific scope alone; origins by string matcher ("*" by a
// matcher that accepts the literal "*"); the preflight answer's and the actual response's headers.
import t from 'tap';
import type { CorsPolicy, StringMatcher } from '../../../../proxy/config/model.ts';
import { preflightResponseHeaders, resolveCorsPolicy, setAllowedOriginHeaders } from '../../../../proxy/http/filters/cors-policy.ts';

const policy = (fields: Partial<CorsPolicy>): CorsPolicy => ({
  allowOrigins: [],
  allowMethods: '',
  allowHeaders: '',
  exposeHeaders: '',
  maxAge: '',
  filterEnabledPercent: 100,
  shadowEnabledPercent: 0,
  ...fields,
});
const exact = (value: string, ignoreCase = false): StringMatcher => ({ kind: 'exact', value, ignoreCase });

t.test('no scope: no policy', async (t) => {
  t.equal(resolveCorsPolicy(undefined, undefined), undefined);
});

t.test('each field from the most specific scope that sets it', async (t) => {
  const route = policy({ allowMethods: 'GET', allowCredentials: false, filterEnabledPercent: 0, shadowEnabledPercent: 100 });
  const vhost = policy({
    allowOrigins: [exact('https://a.example')],
    allowMethods: 'GET, POST',
    allowHeaders: 'content-type',
    exposeHeaders: 'x-trace',
    maxAge: '600',
    allowCredentials: true,
    allowPrivateNetworkAccess: true,
    forwardNotMatchingPreflights: false,
  });
  const p = resolveCorsPolicy(route, vhost)!;
  t.equal(p.allowMethods, 'GET', "the route's");
  t.equal(p.allowHeaders, 'content-type', "the virtual host's");
  t.equal(p.exposeHeaders, 'x-trace');
  t.equal(p.maxAge, '600');
  t.equal(p.allowCredentials, false, 'a set false wins over a less specific true');
  t.equal(p.allowPrivateNetworkAccess, true);
  t.equal(p.forwardNotMatchingPreflights, false);
  t.ok(p.originAllowed('https://a.example'), "the virtual host's origins when the route has none");
  t.equal(p.filterEnabledPercent, 0, 'enabled from the most specific scope only');
  t.equal(p.shadowEnabledPercent, 100);
  t.equal(resolveCorsPolicy(route, vhost), p, 'resolved once per pair of scopes');

  const alone = resolveCorsPolicy(undefined, vhost)!;
  t.equal(alone.allowMethods, 'GET, POST');
  t.equal(alone.filterEnabledPercent, 100);
});

t.test('defaults when no scope sets a field', async (t) => {
  const p = resolveCorsPolicy(policy({}), undefined)!;
  t.equal(p.allowCredentials, false);
  t.equal(p.allowPrivateNetworkAccess, false);
  t.equal(p.forwardNotMatchingPreflights, true, 'a non-matching preflight goes upstream unless told otherwise');
  t.notOk(p.originAllowed('https://a.example'), 'no matcher: no origin allowed');
});

t.test('origins by string matcher', async (t) => {
  const p = resolveCorsPolicy(
    policy({
      allowOrigins: [
        exact('https://a.example'),
        { kind: 'suffix', value: '.B.EXAMPLE', ignoreCase: true },
        { kind: 'safe_regex', value: 'https://c[0-9]\\.example', ignoreCase: false },
      ],
    }),
    undefined,
  )!;
  t.ok(p.originAllowed('https://a.example'));
  t.notOk(p.originAllowed('https://a.example.evil'), 'exact is exact');
  t.ok(p.originAllowed('https://x.b.example'), 'suffix, ignoring case');
  t.ok(p.originAllowed('https://c7.example'));
  t.notOk(p.originAllowed('https://c7.example.evil'), 'a regex matches the whole origin');
  t.notOk(p.originAllowed('null'));
  for (const any of [exact('*'), { kind: 'safe_regex', value: '.*', ignoreCase: false } as StringMatcher, { kind: 'prefix', value: '*', ignoreCase: false } as StringMatcher]) {
    t.ok(resolveCorsPolicy(policy({ allowOrigins: [any] }), undefined)!.originAllowed('https://anything.example'), `${any.kind} '${any.value}' allows every origin`);
  }
});

const preflight = { origin: 'https://a.example', requestMethod: 'PUT', requestHeaders: 'content-type,x-custom', requestPrivateNetwork: '' };

t.test('preflight answer headers', async (t) => {
  const p = resolveCorsPolicy(policy({ allowOrigins: [exact('https://a.example')], allowMethods: 'GET, PUT', allowHeaders: 'content-type', maxAge: '86400', allowCredentials: true }), undefined)!;
  t.same(preflightResponseHeaders(p, preflight, true), {
    'access-control-allow-origin': 'https://a.example',
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, PUT',
    'access-control-allow-headers': 'content-type',
    'access-control-max-age': '86400',
  });
  t.same(preflightResponseHeaders(p, preflight, false), {
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, PUT',
    'access-control-allow-headers': 'content-type',
    'access-control-max-age': '86400',
  }, 'no allow-origin for an origin that is not allowed');
  t.same(preflightResponseHeaders(resolveCorsPolicy(policy({}), undefined)!, preflight, true), { 'access-control-allow-origin': 'https://a.example' }, 'unset fields add nothing');
});

t.test("'*' echoes what the preflight asks for; private network access only when asked", async (t) => {
  const p = resolveCorsPolicy(policy({ allowMethods: '*', allowHeaders: '*', allowPrivateNetworkAccess: true }), undefined)!;
  t.same(preflightResponseHeaders(p, preflight, true), {
    'access-control-allow-origin': 'https://a.example',
    'access-control-allow-methods': 'PUT',
    'access-control-allow-headers': 'content-type,x-custom',
  });
  t.equal(preflightResponseHeaders(p, { ...preflight, requestPrivateNetwork: 'true' }, true)['access-control-allow-private-network'], 'true');
});

t.test('actual response headers replace the upstream ones', async (t) => {
  const headers: Record<string, string> = { 'access-control-allow-origin': '*', 'content-type': 'text/plain' };
  setAllowedOriginHeaders(headers, resolveCorsPolicy(policy({ exposeHeaders: 'x-a, x-b', allowCredentials: true }), undefined)!, 'https://a.example');
  t.same(headers, {
    'access-control-allow-origin': 'https://a.example',
    'content-type': 'text/plain',
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'x-a, x-b',
  });
  const plain: Record<string, string> = {};
  setAllowedOriginHeaders(plain, resolveCorsPolicy(policy({}), undefined)!, 'https://a.example');
  t.same(plain, { 'access-control-allow-origin': 'https://a.example' });
});
