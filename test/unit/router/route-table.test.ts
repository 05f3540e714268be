import t from 'tap';
import type { Route } from '../../../proxy/config/model.ts';
import { RouteTable } from '../../../proxy/router/route-table.ts';
import type { RouteRequest } from '../../../proxy/router/request.ts';
import { headerMatcher, mutations, request, route, routeConfig, virtualHost } from './builders.ts';

const everything = (name: string) => route(name, { kind: 'prefix', value: '/' });

// The name of the virtual host the authority selects, or null.
function hostFor(table: RouteTable, authority: string): string | null {
  return table.route(request({ authority }))?.virtualHost.model.name ?? null;
}

// The name of the route the request selects, or null.
function routeFor(table: RouteTable, req: Partial<RouteRequest>): string | null {
  return table.route(request(req))?.route?.name ?? null;
}

function oneHost(routes: Route[]): RouteTable {
  return new RouteTable(routeConfig([virtualHost('vh', ['*'], routes)]));
}

t.test('virtual host precedence: exact, longest suffix, longest prefix, then *', async (t) => {
  const table = new RouteTable(
    routeConfig([
      virtualHost('exact', ['www.foo.com'], [everything('r')]),
      virtualHost('suffix', ['*.foo.com'], [everything('r')]),
      virtualHost('longer-suffix', ['*-bar.foo.com'], [everything('r')]),
      virtualHost('prefix', ['www.*'], [everything('r')]),
      virtualHost('longer-prefix', ['www.foo.*'], [everything('r')]),
      virtualHost('any', ['*'], [everything('r')]),
    ]),
  );
  t.equal(hostFor(table, 'www.foo.com'), 'exact');
  t.equal(hostFor(table, 'WWW.Foo.COM'), 'exact', 'case-insensitive');
  t.equal(hostFor(table, 'api.foo.com'), 'suffix');
  t.equal(hostFor(table, 'baz-bar.foo.com'), 'longer-suffix');
  t.equal(hostFor(table, '-bar.foo.com'), 'suffix', 'a wildcard does not match the empty string');
  t.equal(hostFor(table, '.foo.com'), 'any');
  t.equal(hostFor(table, 'www.bar.foo.com'), 'suffix', 'a suffix wildcard beats a prefix wildcard');
  t.equal(hostFor(table, 'www.foo.org'), 'longer-prefix');
  t.equal(hostFor(table, 'www.example.org'), 'prefix');
  t.equal(hostFor(table, 'example.org'), 'any');
  t.equal(hostFor(table, 'www.'), 'any');
});

t.test('no virtual host without a * domain', async (t) => {
  const table = new RouteTable(routeConfig([virtualHost('a', ['a.com'], [everything('r')])]));
  t.equal(table.route(request({ authority: 'b.com' })), null);
  t.equal(hostFor(table, 'a.com'), 'a');
});

t.test('ports', async (t) => {
  const table = new RouteTable(
    routeConfig([
      virtualHost('plain', ['foo.com'], [everything('r')]),
      virtualHost('on-8080', ['foo.com:8080'], [everything('r')]),
      virtualHost('wild-9090', ['*.foo.com:9090'], [everything('r')]),
      virtualHost('v6', ['[::1]'], [everything('r')]),
      virtualHost('prefix', ['bar.*'], [everything('r')]),
    ]),
  );
  t.equal(hostFor(table, 'foo.com'), 'plain');
  t.equal(hostFor(table, 'foo.com:80'), 'plain', 'a domain without a port ignores the port');
  t.equal(hostFor(table, 'foo.com:8080'), 'on-8080', 'a domain with a port wins for that port');
  t.equal(hostFor(table, 'a.foo.com:9090'), 'wild-9090');
  t.equal(hostFor(table, 'a.foo.com:9091'), null);
  t.equal(hostFor(table, '[::1]:15001'), 'v6');
  t.equal(hostFor(table, 'bar.com:443'), 'prefix');
  const portOnly = new RouteTable(routeConfig([virtualHost('p', ['foo.com:8080'], [everything('r')])]));
  t.equal(hostFor(portOnly, 'foo.com'), null, 'a domain with a port matches only that port');
  t.equal(hostFor(portOnly, 'foo.com:8081'), null);
});

t.test('ignore_port_in_host_matching (istiod sets it on every route config)', async (t) => {
  const config = routeConfig([virtualHost('plain', ['reviews'], [everything('r')]), virtualHost('with-port', ['ratings:9080'], [everything('r')])]);
  const table = new RouteTable({ ...config, ignorePortInHostMatching: true });
  t.equal(hostFor(table, 'reviews:9080'), 'plain', 'the port is left out');
  t.equal(hostFor(table, 'ratings:9080'), null, 'so a domain that names a port never matches');
  t.equal(hostFor(new RouteTable(config), 'ratings:9080'), 'with-port', 'without the flag it does');
});

t.test('duplicate domains are rejected', async (t) => {
  t.throws(() => new RouteTable(routeConfig([virtualHost('a', ['x.com'], []), virtualHost('b', ['X.com'], [])])));
  t.throws(() => new RouteTable(routeConfig([virtualHost('a', ['*'], []), virtualHost('b', ['*'], [])])));
});

t.test('path specifiers', async (t) => {
  const table = oneHost([
    route('exact', { kind: 'path', value: '/exact' }),
    route('separated', { kind: 'path_separated_prefix', value: '/api/dev' }),
    route('regex', { kind: 'safe_regex', value: '/users/[0-9]+' }),
    route('prefix', { kind: 'prefix', value: '/static' }),
  ]);
  t.equal(routeFor(table, { path: '/exact' }), 'exact');
  t.equal(routeFor(table, { path: '/exact?x=1' }), 'exact', 'path ignores the query');
  t.equal(routeFor(table, { path: '/exact/' }), null);
  t.equal(routeFor(table, { path: '/Exact' }), null, 'case-sensitive by default');
  for (const path of ['/api/dev', '/api/dev/', '/api/dev/v1', '/api/dev?param=true']) {
    t.equal(routeFor(table, { path }), 'separated', path);
  }
  t.equal(routeFor(table, { path: '/api/developer' }), null);
  t.equal(routeFor(table, { path: '/users/42' }), 'regex');
  t.equal(routeFor(table, { path: '/users/42?all=1' }), 'regex', 'the regex sees the path without its query');
  t.equal(routeFor(table, { path: '/users/42/x' }), null, 'the regex must match the whole path');
  t.equal(routeFor(table, { path: '/static/app.js' }), 'prefix');
  t.equal(routeFor(table, { path: '/staticx' }), 'prefix');
});

t.test('case_sensitive: false', async (t) => {
  const table = oneHost([
    route('exact', { kind: 'path', value: '/Exact' }, { match: { caseSensitive: false } }),
    route('separated', { kind: 'path_separated_prefix', value: '/Api' }, { match: { caseSensitive: false } }),
    route('prefix', { kind: 'prefix', value: '/Static/' }, { match: { caseSensitive: false } }),
    route('regex', { kind: 'safe_regex', value: '/[a-z]+' }, { match: { caseSensitive: false } }),
  ]);
  t.equal(routeFor(table, { path: '/eXACT' }), 'exact');
  t.equal(routeFor(table, { path: '/API/x' }), 'separated');
  t.equal(routeFor(table, { path: '/STATIC/a' }), 'prefix');
  t.equal(routeFor(table, { path: '/abc' }), 'regex');
  t.equal(routeFor(table, { path: '/ABC' }), null, 'case_sensitive does not apply to regexes');
});

t.test('headers, pseudo-headers, query parameters and grpc', async (t) => {
  const table = oneHost([
    route('header', { kind: 'prefix', value: '/' }, {
      match: {
        headers: [
          headerMatcher({ name: 'x-canary', kind: 'exact', value: '1' }),
          headerMatcher({ name: 'x-debug', kind: 'present', presentMatch: false }),
        ],
      },
    }),
    route('method', { kind: 'prefix', value: '/' }, {
      match: { headers: [headerMatcher({ name: ':method', kind: 'exact', value: 'POST' })] },
    }),
    route('authority', { kind: 'prefix', value: '/' }, {
      match: { headers: [headerMatcher({ name: ':authority', kind: 'suffix', value: '.internal' })] },
    }),
    route('scheme', { kind: 'prefix', value: '/' }, {
      match: { headers: [headerMatcher({ name: ':scheme', kind: 'exact', value: 'https' })] },
    }),
    route('path-header', { kind: 'prefix', value: '/' }, {
      match: { headers: [headerMatcher({ name: ':path', kind: 'contains', value: 'v=2' })] },
    }),
    route('query', { kind: 'prefix', value: '/' }, {
      match: {
        queryParameters: [
          { name: 'debug', presentMatch: true },
          { name: 'user', presentMatch: false, stringMatch: { kind: 'exact', value: 'alice', ignoreCase: false } },
        ],
      },
    }),
    route('grpc', { kind: 'prefix', value: '/' }, { match: { grpc: true } }),
    route('fallback', { kind: 'prefix', value: '/' }),
  ]);
  t.equal(routeFor(table, { headers: { 'x-canary': '1' } }), 'header');
  t.equal(routeFor(table, { headers: { 'x-canary': '1', 'x-debug': '' } }), 'fallback', 'all header matchers must pass');
  t.equal(routeFor(table, { method: 'POST' }), 'method');
  t.equal(routeFor(table, { authority: 'svc.internal' }), 'authority');
  t.equal(routeFor(table, { scheme: 'https' }), 'scheme');
  t.equal(routeFor(table, { path: '/x?v=2' }), 'path-header', ':path includes the query');
  t.equal(routeFor(table, { path: '/x?debug&user=alice' }), 'query');
  t.equal(routeFor(table, { path: '/x?debug&user=bob' }), 'fallback', 'all query matchers must pass');
  t.equal(routeFor(table, { headers: { 'content-type': 'application/grpc' } }), 'grpc');
  t.equal(routeFor(table, { headers: { 'content-type': 'application/grpc+proto' } }), 'grpc');
  t.equal(routeFor(table, { headers: { 'content-type': 'application/grpc-web' } }), 'fallback');
  t.equal(routeFor(table, { headers: { 'content-type': 'application/json' } }), 'fallback');
});

t.test('the first matching route wins, in order', async (t) => {
  const table = oneHost([
    route('specific', { kind: 'prefix', value: '/api/v2' }),
    route('api', { kind: 'prefix', value: '/api' }),
    route('shadowed', { kind: 'prefix', value: '/api/v1' }),
    route('root', { kind: 'prefix', value: '/' }),
  ]);
  t.equal(routeFor(table, { path: '/api/v2/x' }), 'specific');
  t.equal(routeFor(table, { path: '/api/v1/x' }), 'api', 'a later, more specific route never sees it');
  t.equal(routeFor(table, { path: '/other' }), 'root');
});

t.test('no route in the virtual host', async (t) => {
  const table = oneHost([route('only', { kind: 'path', value: '/only' })]);
  const result = table.route(request({ path: '/else' }));
  t.equal(result?.virtualHost.model.name, 'vh');
  t.equal(result?.route, null);
});

t.test('runtime_fraction', async (t) => {
  const table = oneHost([
    route('never', { kind: 'prefix', value: '/' }, { match: { runtimeFractionPercent: 0 } }),
    route('always', { kind: 'prefix', value: '/' }, { match: { runtimeFractionPercent: 100 } }),
  ]);
  for (let i = 0; i < 100; i++) t.equal(routeFor(table, {}), 'always');
  const half = oneHost([
    route('half', { kind: 'prefix', value: '/' }, { match: { runtimeFractionPercent: 50 } }),
    route('rest', { kind: 'prefix', value: '/' }),
  ]);
  let hits = 0;
  for (let i = 0; i < 10000; i++) if (routeFor(half, {}) === 'half') hits++;
  t.ok(hits > 4500 && hits < 5500, `about half: ${hits}`);
});

t.test('routing returns results built at compile time', async (t) => {
  const table = oneHost([route('r', { kind: 'prefix', value: '/' })]);
  t.equal(table.route(request({ path: '/a' })), table.route(request({ path: '/b' })), 'same object, no allocation');
});

t.test('1000 virtual hosts x 10 routes compile once and route correctly', async (t) => {
  let compiled = 0;
  const compileValue = (template: string) => {
    compiled++;
    return () => template.replaceAll('%', '');
  };
  const hosts = [];
  for (let h = 0; h < 1000; h++) {
    const routes = [];
    for (let r = 0; r < 10; r++) {
      routes.push(route(`h${h}-r${r}`, { kind: 'path_separated_prefix', value: `/svc${r}` }));
    }
    hosts.push(
      virtualHost(`h${h}`, [`svc-${h}.example.com`, `*.svc-${h}.example.org`], routes,
        mutations({ requestHeadersToAdd: [{ key: 'x-host', value: '%HOST%', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }] })),
    );
  }
  const config = routeConfig(hosts, mutations({
    requestHeadersToAdd: [{ key: 'x-config', value: '%CONFIG%', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
  }));
  const table = new RouteTable(config, compileValue);
  t.equal(compiled, 1001, 'each templated value compiled once: 1000 virtual hosts + the route config');

  for (let i = 0; i < 5000; i++) {
    const h = (i * 7919) % 1000;
    const r = i % 10;
    const authority = i % 2 === 0 ? `svc-${h}.example.com` : `pod.svc-${h}.example.org:8443`;
    const result = table.route(request({ authority, path: `/svc${r}/item?id=${i}` }));
    if (result?.route?.name !== `h${h}-r${r}`) {
      t.fail(`${authority} routed to ${result?.route?.name}`);
      return;
    }
  }
  const headers: Record<string, string> = {};
  table.route(request({ authority: 'svc-5.example.com', path: '/svc3' }))!.route!.mutations().applyRequest(headers, undefined);
  t.same(headers, { 'x-host': 'HOST', 'x-config': 'CONFIG' });
  t.equal(compiled, 1001, 'routing compiles nothing');
  t.equal(table.route(request({ authority: 'svc-1000.example.com' })), null);
});
