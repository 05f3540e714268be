// Virtual host selection by :authority and route matching, end to end through the connection
// manager (test/unit/router covers the matcher in depth). Each route answers with its own name.
import t from 'tap';
import { bootstrap, httpListener, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';

const named = (name: string, match: object) => ({ name, match, direct_response: { status: 200, body: { inline_string: name } } });

const echo = await startUpstream('echo', echoHandler('echo'));
t.teardown(() => echo.close());

const routeConfig = {
  name: 'routing',
  virtual_hosts: [
    { name: 'exact', domains: ['api.example.com'], routes: [named('exact', { prefix: '/' })] },
    { name: 'suffix', domains: ['*.example.com'], routes: [named('suffix', { prefix: '/' })] },
    { name: 'longer-suffix', domains: ['*.internal.example.com'], routes: [named('longer-suffix', { prefix: '/' })] },
    { name: 'prefix', domains: ['shop.*'], routes: [named('prefix', { prefix: '/' })] },
    { name: 'with-port', domains: ['ported.test:8443'], routes: [named('with-port', { prefix: '/' })] },
    { name: 'no-port', domains: ['plain.test'], routes: [named('no-port', { prefix: '/' })] },
    {
      name: 'routes',
      domains: ['routes.test'],
      routes: [
        named('path', { path: '/exact' }),
        named('regex', { safe_regex: { regex: '/items/[0-9]+' } }),
        named('separated', { path_separated_prefix: '/docs' }),
        named('header', { prefix: '/h', headers: [{ name: 'x-tenant', string_match: { exact: 'blue' } }] }),
        named('header-inverted', { prefix: '/h', headers: [{ name: 'x-tenant', present_match: true, invert_match: true }] }),
        named('query', { prefix: '/q', query_parameters: [{ name: 'debug', string_match: { exact: '1' } }] }),
        named('insensitive', { prefix: '/CaSe', case_sensitive: false }),
        { name: 'upstream', match: { prefix: '/up' }, route: { cluster: 'echo' } },
        named('fallback', { prefix: '/' }),
      ],
    },
    { name: 'default', domains: ['*'], routes: [named('default', { prefix: '/' })] },
  ],
};

const legate = await startLegate(bootstrap([httpListener('ingress', routeConfig)], [staticCluster('echo', [{ port: echo.port }])]));
t.teardown(() => legate.stop());

async function answer(host: string, path: string, headers: Record<string, string> = {}): Promise<string> {
  const reply = await fetchText(legate.url(path), { headers: { host, ...headers } });
  return reply.status === 200 ? reply.body : `status ${reply.status}`;
}

t.test('virtual hosts by :authority', async (t) => {
  t.equal(await answer('api.example.com', '/'), 'exact', 'an exact domain');
  t.equal(await answer('API.Example.COM', '/'), 'exact', 'case-insensitive');
  t.equal(await answer('www.example.com', '/'), 'suffix', '*.suffix');
  t.equal(await answer('a.internal.example.com', '/'), 'longer-suffix', 'the longest suffix wins');
  t.equal(await answer('example.com', '/'), 'default', 'a wildcard stands for at least one character');
  t.equal(await answer('shop.eu', '/'), 'prefix', 'prefix.*');
  t.equal(await answer('unknown.test', '/'), 'default', '* catches the rest');
});

t.test('ports in :authority', async (t) => {
  t.equal(await answer('ported.test:8443', '/'), 'with-port', 'a domain with a port matches that port');
  t.equal(await answer('ported.test:8444', '/'), 'default', 'and no other');
  t.equal(await answer('ported.test', '/'), 'default', 'nor the bare name');
  t.equal(await answer('plain.test:8080', '/'), 'no-port', 'a domain without a port matches any port (router README)');
  t.equal(await answer('www.example.com:80', '/'), 'suffix', 'wildcards too');
});

t.test('route matching', async (t) => {
  const r = (path: string, headers?: Record<string, string>) => answer('routes.test', path, headers);
  t.equal(await r('/exact'), 'path', 'path');
  t.equal(await r('/exact?x=1'), 'path', 'path ignores the query');
  t.equal(await r('/exact/more'), 'fallback', 'path is not a prefix');
  t.equal(await r('/items/42'), 'regex', 'safe_regex');
  t.equal(await r('/items/42x'), 'fallback', 'safe_regex matches the whole path');
  t.equal(await r('/docs'), 'separated', 'path_separated_prefix: the prefix itself');
  t.equal(await r('/docs/guide'), 'separated', 'path_separated_prefix: below it');
  t.equal(await r('/docsearch'), 'fallback', 'path_separated_prefix: not a longer segment');
  t.equal(await r('/h', { 'x-tenant': 'blue' }), 'header', 'header exact match');
  t.equal(await r('/h', { 'x-tenant': 'red' }), 'fallback', 'header mismatch, header present');
  t.equal(await r('/h'), 'header-inverted', 'invert_match of present_match: header absent');
  t.equal(await r('/q?debug=1'), 'query', 'query parameter');
  t.equal(await r('/q?debug=0'), 'fallback', 'query parameter mismatch');
  t.equal(await r('/case/x'), 'insensitive', 'case_sensitive: false');
  t.equal(await r('/CASE'), 'insensitive');
});

t.test('a routed match reaches the upstream with the path unchanged', async (t) => {
  const reply = await fetchText(legate.url('/up/x?y=1'), { headers: { host: 'routes.test' } });
  t.equal(reply.status, 200);
  const seen = JSON.parse(reply.body) as Echo;
  t.equal(seen.url, '/up/x?y=1');
  t.equal(seen.headers.host, 'routes.test');
});
