import t from 'tap';
import type { PathSpecifier, RedirectAction } from '../../../proxy/config/model.ts';
import { CompiledRoute } from '../../../proxy/router/compiled-route.ts';
import { literalValue } from '../../../proxy/router/header-mutation.ts';
import { redirectAction, request, route, routeAction } from './builders.ts';

function forwarding(path: PathSpecifier, rewrite: { prefixRewrite?: string; regexRewrite?: { pattern: string; substitution: string } }) {
  return new CompiledRoute(route('r', path, { action: routeAction(rewrite) }), [], literalValue);
}

function redirecting(path: PathSpecifier, redirect: Partial<RedirectAction>) {
  return new CompiledRoute(route('r', path, { action: redirectAction(redirect) }), [], literalValue);
}

t.test('prefix_rewrite replaces what the route matched', async (t) => {
  const prefix = forwarding({ kind: 'prefix', value: '/prefix/' }, { prefixRewrite: '/' });
  t.equal(prefix.rewritePath('/prefix/etc?x=1'), '/etc?x=1');
  t.equal(forwarding({ kind: 'prefix', value: '/prefix' }, { prefixRewrite: '/' }).rewritePath('/prefix'), '/');
  t.equal(forwarding({ kind: 'prefix', value: '/api' }, { prefixRewrite: '/v2' }).rewritePath('/api/users'), '/v2/users');
  const separated = forwarding({ kind: 'path_separated_prefix', value: '/api' }, { prefixRewrite: '/backend' });
  t.equal(separated.rewritePath('/api/x'), '/backend/x');
  const exact = forwarding({ kind: 'path', value: '/old' }, { prefixRewrite: '/new' });
  t.equal(exact.rewritePath('/old?q=1'), '/new?q=1', 'a path route: the whole path, query kept');
  const regex = forwarding({ kind: 'safe_regex', value: '/users/[0-9]+' }, { prefixRewrite: '/user' });
  t.equal(regex.rewritePath('/users/42?full=1'), '/user?full=1', 'a regex route: the whole path, query kept');
  t.equal(forwarding({ kind: 'prefix', value: '/' }, {}).rewritePath('/same?q'), '/same?q', 'no rewrite');
});

t.test('regex_rewrite substitutes in the path and keeps the query', async (t) => {
  const route = forwarding(
    { kind: 'prefix', value: '/service' },
    { regexRewrite: { pattern: '^/service/([^/]+)(/.*)$', substitution: '\\2/instance/\\1' } },
  );
  t.equal(route.rewritePath('/service/foo/v1/api?x=/service/a/b'), '/v1/api/instance/foo?x=/service/a/b');
  const every = forwarding({ kind: 'prefix', value: '/' }, { regexRewrite: { pattern: 'one', substitution: 'two' } });
  t.equal(every.rewritePath('/one/one?one'), '/two/two?one', 'every match in the path, none in the query');
});

t.test('redirects', async (t) => {
  const all: PathSpecifier = { kind: 'prefix', value: '/' };
  const req = request({ authority: 'example.com', path: '/a/b?q=1', scheme: 'http' });

  t.equal(redirecting(all, { schemeRedirect: 'https' }).redirectLocation(req), 'https://example.com/a/b?q=1');
  t.equal(
    redirecting(all, { schemeRedirect: 'https' }).redirectLocation(request({ authority: 'example.com:80', path: '/' })),
    'https://example.com/',
    'the old scheme default port goes with the scheme change',
  );
  t.equal(
    redirecting(all, { schemeRedirect: 'https' }).redirectLocation(request({ authority: 'example.com:8080', path: '/' })),
    'https://example.com:8080/',
    'another port stays',
  );
  t.equal(
    redirecting(all, { schemeRedirect: 'https', portRedirect: 443 }).redirectLocation(req),
    'https://example.com/a/b?q=1',
    'the new scheme default port is dropped',
  );
  t.equal(redirecting(all, { hostRedirect: 'other.org' }).redirectLocation(req), 'http://other.org/a/b?q=1');
  t.equal(
    redirecting(all, { hostRedirect: 'other.org' }).redirectLocation(request({ authority: 'example.com:8080', path: '/' })),
    'http://other.org/',
    'host_redirect replaces the port too',
  );
  t.equal(redirecting(all, { portRedirect: 8443 }).redirectLocation(req), 'http://example.com:8443/a/b?q=1');
  t.equal(
    redirecting(all, { portRedirect: 8443 }).redirectLocation(request({ authority: 'example.com:9000', path: '/' })),
    'http://example.com:8443/',
  );
  t.equal(
    redirecting(all, { portRedirect: 8443 }).redirectLocation(request({ authority: '[::1]:9000', path: '/' })),
    'http://[::1]:8443/',
  );
  t.equal(redirecting(all, { pathRedirect: '/new' }).redirectLocation(req), 'http://example.com/new?q=1', 'query kept');
  t.equal(redirecting(all, { pathRedirect: '/new', stripQuery: true }).redirectLocation(req), 'http://example.com/new');
  t.equal(
    redirecting(all, { pathRedirect: '/new?foo=1', stripQuery: true }).redirectLocation(req),
    'http://example.com/new?foo=1',
    "path_redirect's own query replaces the request's and is never stripped",
  );
  t.equal(redirecting(all, { stripQuery: true }).redirectLocation(req), 'http://example.com/a/b');
  t.equal(
    redirecting({ kind: 'prefix', value: '/a/' }, { prefixRewrite: '/z/' }).redirectLocation(req),
    'http://example.com/z/b?q=1',
  );
  t.equal(
    redirecting({ kind: 'prefix', value: '/a/' }, { prefixRewrite: '/z/', stripQuery: true }).redirectLocation(req),
    'http://example.com/z/b',
  );
  t.equal(
    redirecting(all, { regexRewrite: { pattern: '^/a/(.*)$', substitution: '/c/\\1' } }).redirectLocation(req),
    'http://example.com/c/b?q=1',
  );
  t.equal(
    redirecting(all, { schemeRedirect: 'https', hostRedirect: 'secure.example.com', portRedirect: 8443, pathRedirect: '/login' })
      .redirectLocation(req),
    'https://secure.example.com:8443/login?q=1',
  );
  t.equal(redirecting(all, { pathRedirect: 'relative' }).redirectLocation(request()), 'http://example.com/relative');
});

t.test('methods that do not fit the action kind throw', async (t) => {
  const redirect = redirecting({ kind: 'prefix', value: '/' }, {});
  t.throws(() => redirect.pickCluster(request()));
  const forward = forwarding({ kind: 'prefix', value: '/' }, {});
  t.throws(() => forward.redirectLocation(request()));
});
