// envoy.filters.http.cors through a real Legate and an HTTP/1 upstream: a preflight of the shape a
// browser sends answered locally, a preflight from an origin not allowed forwarded (or answered
// without allow-origin when forward_not_matching_preflights is false), the allow headers on an
// actual cross-origin response, a route's policy over its virtual host's field by field, the older
// cors fields of a virtual host and a route action, the filter disabled per route, shadow mode,
// private network access, the same over HTTP/2, and http.<stat_prefix>.cors.origin_{valid,invalid}.
import http2 from 'node:http2';
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, type Reply } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const CORS_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const CORS_POLICY_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const APP = 'https://app.example';

// The upstream marks its answers, and allows any origin itself so Legate's replacement shows.
const app = await startUpstream('app', (req, res) => {
  req.resume();
  const headers: Record<string, string> = { 'x-upstream': 'app', 'content-length': '2' };
  if (req.method !== 'OPTIONS') headers['access-control-allow-origin'] = '*';
  res.writeHead(200, headers);
  res.end('ok');
});
t.teardown(() => app.close());

const policy = (fields: object) => ({ 'envoy.filters.http.cors': { '@type': CORS_POLICY_TYPE, ...fields } });
const route = (prefix: string, extra: object = {}, action: object = {}) => ({ match: { prefix }, route: { cluster: 'app', ...action }, ...extra });

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'web',
        {
          name: 'web',
          virtual_hosts: [
            {
              // The older cors fields only: the virtual host's, and a route action's over it.
              name: 'legacy',
              domains: ['legacy.example'],
              cors: { allow_origin_string_match: [{ exact: APP }], allow_methods: 'GET', max_age: '60' },
              routes: [route('/route-cors', {}, { cors: { allow_origin_string_match: [{ exact: 'https://other.example' }] } }), route('/')],
            },
            {
              name: 'all',
              domains: ['*'],
              typed_per_filter_config: policy({
                allow_origin_string_match: [{ exact: APP }, { suffix: '.trusted.example' }],
                allow_methods: 'GET, POST, PUT',
                allow_headers: 'content-type, x-requested-with',
                expose_headers: 'x-upstream',
                max_age: '86400',
                allow_credentials: true,
              }),
              routes: [
                route('/override', { typed_per_filter_config: policy({ allow_origin_string_match: [{ exact: 'https://other.example' }], allow_methods: 'DELETE', allow_credentials: false }) }),
                route('/off', { typed_per_filter_config: { 'envoy.filters.http.cors': { '@type': FILTER_CONFIG_TYPE, disabled: true } } }),
                route('/strict', { typed_per_filter_config: policy({ forward_not_matching_preflights: false }) }),
                route('/shadow', { typed_per_filter_config: policy({ filter_enabled: { default_value: { numerator: 0 } }, shadow_enabled: { default_value: { numerator: 100 } } }) }),
                route('/private', { typed_per_filter_config: policy({ allow_private_network_access: true, allow_methods: '*', allow_headers: '*' }) }),
                route('/'),
              ],
            },
          ],
        },
        {
          http_filters: [
            { name: 'envoy.filters.http.cors', typed_config: { '@type': CORS_TYPE } },
            { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
          ],
        },
      ),
    ],
    [staticCluster('app', [{ port: app.port }])],
  ),
);
t.teardown(() => legate.stop());

// What Chrome sends before a cross-origin PUT with a JSON body and a custom header.
const browserPreflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: {
    accept: '*/*',
    'accept-encoding': 'gzip, deflate, br, zstd',
    'accept-language': 'en-US,en;q=0.9',
    'access-control-request-headers': 'content-type,x-requested-with',
    'access-control-request-method': 'PUT',
    origin,
    referer: `${origin}/`,
    'sec-fetch-dest': 'empty',
    'sec-fetch-mode': 'cors',
    'sec-fetch-site': 'cross-site',
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    ...extra,
  },
});

const send = (path: string, options: Parameters<typeof nodeRequest>[1] = {}): Promise<Reply> => nodeRequest(legate.url(path, 'web'), options);

// The counters' change across fn.
async function countedDuring(fn: () => Promise<void>): Promise<{ valid: number; invalid: number }> {
  const read = async () => {
    const c = (await legate.primary.stats()).counters;
    return { valid: c.get('http.web.cors.origin_valid') ?? 0, invalid: c.get('http.web.cors.origin_invalid') ?? 0 };
  };
  const before = await read();
  await fn();
  const after = await read();
  return { valid: after.valid - before.valid, invalid: after.invalid - before.invalid };
}

const upstreamSaw = (method: string, url: string) => app.seen.some((r) => r.method === method && r.url === url);

t.test("a browser's preflight from an allowed origin is answered by Legate", async (t) => {
  let reply!: Reply;
  const counted = await countedDuring(async () => {
    reply = await send('/api/items', browserPreflight(APP));
  });
  t.equal(reply.status, 200);
  t.equal(reply.body, '');
  t.equal(reply.headers['content-length'], '0');
  t.equal(reply.headers['access-control-allow-origin'], APP, 'the request origin, not *');
  t.equal(reply.headers['access-control-allow-methods'], 'GET, POST, PUT');
  t.equal(reply.headers['access-control-allow-headers'], 'content-type, x-requested-with');
  t.equal(reply.headers['access-control-max-age'], '86400');
  t.equal(reply.headers['access-control-allow-credentials'], 'true');
  t.equal(reply.headers['x-upstream'], undefined);
  t.notOk(upstreamSaw('OPTIONS', '/api/items'), 'the upstream never sees it');
  t.same(counted, { valid: 1, invalid: 0 });

  const suffix = await send('/api/items', browserPreflight('https://shop.trusted.example'));
  t.equal(suffix.headers['access-control-allow-origin'], 'https://shop.trusted.example', 'a suffix matcher');
});

t.test('a preflight from an origin not allowed goes upstream', async (t) => {
  let reply!: Reply;
  const counted = await countedDuring(async () => {
    reply = await send('/api/forwarded', browserPreflight('https://evil.example'));
  });
  t.equal(reply.headers['x-upstream'], 'app');
  t.equal(reply.headers['access-control-allow-origin'], undefined);
  t.ok(upstreamSaw('OPTIONS', '/api/forwarded'));
  t.same(counted, { valid: 0, invalid: 1 });
});

t.test('forward_not_matching_preflights false: answered locally without allow-origin', async (t) => {
  const reply = await send('/strict/x', browserPreflight('https://evil.example'));
  t.equal(reply.status, 200);
  t.equal(reply.headers['x-upstream'], undefined);
  t.notOk(upstreamSaw('OPTIONS', '/strict/x'));
  t.equal(reply.headers['access-control-allow-origin'], undefined);
  t.equal(reply.headers['access-control-allow-methods'], 'GET, POST, PUT', 'the rest from the virtual host');
});

t.test('an actual cross-origin GET gets the allow headers; others are left alone', async (t) => {
  let allowed!: Reply;
  let denied!: Reply;
  let plain!: Reply;
  const counted = await countedDuring(async () => {
    allowed = await send('/api/get', { headers: { origin: APP, 'sec-fetch-mode': 'cors' } });
    denied = await send('/api/get', { headers: { origin: 'https://evil.example' } });
    plain = await send('/api/get');
  });
  t.equal(allowed.status, 200);
  t.equal(allowed.body, 'ok');
  t.equal(allowed.headers['access-control-allow-origin'], APP, "replaces the upstream's *");
  t.equal(allowed.headers['access-control-allow-credentials'], 'true');
  t.equal(allowed.headers['access-control-expose-headers'], 'x-upstream');
  t.equal(app.seen.find((r) => r.url === '/api/get')?.headers.origin, APP, 'the origin goes upstream');
  t.equal(denied.headers['access-control-allow-origin'], '*', "the upstream's own answer, untouched");
  t.equal(denied.headers['access-control-allow-credentials'], undefined);
  t.equal(plain.headers['access-control-expose-headers'], undefined, 'no origin: not a CORS request');
  t.same(counted, { valid: 1, invalid: 1 }, 'requests without an origin are not counted');
});

t.test("a route's policy overrides its virtual host's, field by field", async (t) => {
  const pre = await send('/override', { method: 'OPTIONS', headers: { origin: 'https://other.example', 'access-control-request-method': 'DELETE' } });
  t.equal(pre.status, 200);
  t.equal(pre.headers['access-control-allow-origin'], 'https://other.example', "the route's origins");
  t.equal(pre.headers['access-control-allow-methods'], 'DELETE');
  t.equal(pre.headers['access-control-allow-credentials'], undefined, "the route's allow_credentials false wins");
  t.equal(pre.headers['access-control-max-age'], '86400', "max_age from the virtual host's policy");
  const vhostOrigin = await send('/override', { headers: { origin: APP } });
  t.equal(vhostOrigin.headers['access-control-allow-origin'], '*', "the virtual host's origins do not apply here");
});

t.test('the older cors fields of a virtual host and a route action', async (t) => {
  const vhost = await send('/legacy', { method: 'OPTIONS', headers: { host: 'legacy.example', origin: APP, 'access-control-request-method': 'GET' } });
  t.equal(vhost.headers['access-control-allow-origin'], APP);
  t.equal(vhost.headers['access-control-allow-methods'], 'GET');
  t.equal(vhost.headers['access-control-max-age'], '60');
  const routeCors = await send('/route-cors', { method: 'OPTIONS', headers: { host: 'legacy.example', origin: 'https://other.example', 'access-control-request-method': 'GET' } });
  t.equal(routeCors.headers['access-control-allow-origin'], 'https://other.example', "the route action's origins");
  t.equal(routeCors.headers['access-control-allow-methods'], 'GET', "allow_methods from the virtual host's");
});

t.test('the filter disabled for a route', async (t) => {
  let reply!: Reply;
  const counted = await countedDuring(async () => {
    reply = await send('/off', browserPreflight(APP));
  });
  t.equal(reply.headers['x-upstream'], 'app', 'the preflight goes upstream');
  t.equal(reply.headers['access-control-allow-origin'], undefined);
  const get = await send('/off', { headers: { origin: APP } });
  t.equal(get.headers['access-control-allow-origin'], '*');
  t.same(counted, { valid: 0, invalid: 0 });
});

t.test('shadow mode counts origins and enforces nothing', async (t) => {
  let pre!: Reply;
  let get!: Reply;
  const counted = await countedDuring(async () => {
    pre = await send('/shadow', browserPreflight(APP));
    get = await send('/shadow', { headers: { origin: 'https://evil.example' } });
  });
  t.equal(pre.headers['x-upstream'], 'app', 'the preflight goes upstream');
  t.equal(pre.headers['access-control-allow-origin'], undefined);
  t.equal(get.headers['access-control-allow-origin'], '*');
  t.same(counted, { valid: 1, invalid: 1 });
});

t.test("private network access, and '*' echoing the preflight's asks", async (t) => {
  const reply = await send('/private', browserPreflight(APP, { 'access-control-request-private-network': 'true' }));
  t.equal(reply.headers['access-control-allow-private-network'], 'true');
  t.equal(reply.headers['access-control-allow-methods'], 'PUT');
  t.equal(reply.headers['access-control-allow-headers'], 'content-type,x-requested-with');
  const notAsked = await send('/private', browserPreflight(APP));
  t.equal(notAsked.headers['access-control-allow-private-network'], undefined);
});

// One request on an h2c session: status and headers (the body is drained).
function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<http2.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: true });
    let head: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (head = h));
    req.on('data', () => undefined);
    req.on('end', () => resolve(head));
    req.on('error', reject);
  });
}

t.test('over HTTP/2 (h2c prior knowledge on the AUTO codec)', async (t) => {
  const session = http2.connect(legate.url('/', 'web'));
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  const { method, headers } = browserPreflight(APP);
  const pre = await h2Request(session, { ':method': method, ':path': '/h2/items', ...headers });
  t.equal(pre[':status'], 200);
  t.equal(pre['access-control-allow-origin'], APP);
  t.equal(pre['access-control-allow-methods'], 'GET, POST, PUT');
  t.equal(pre['x-upstream'], undefined, 'answered by Legate');
  const get = await h2Request(session, { ':method': 'GET', ':path': '/h2/items', origin: APP });
  t.equal(get[':status'], 200);
  t.equal(get['access-control-allow-origin'], APP);
  t.equal(get['access-control-expose-headers'], 'x-upstream');
});
