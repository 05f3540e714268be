// explain routes on the path the connection manager hands the router: as written (no URL parser
// removing dot segments), then normalize_path, merge_slashes and path_with_escaped_slashes_action.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import { explain, formatTree } from '../../../proxy/explain/index.ts';
import { bootstrap, httpListener, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';

const table = routes([
  { name: 'admin', match: { prefix: '/admin' }, direct_response: { status: 403 } },
  { name: 'rest', match: { prefix: '/' }, route: { cluster: 'app' } },
]);
function model(hcm: object) {
  return translateBootstrap(bootstrap([{ ...httpListener('web', table, hcm), address: socketAddress('127.0.0.1', 8080) }], [staticCluster('app', [{ port: 9001 }])]));
}

t.test('without normalization the path is routed as written', async (t) => {
  const e = explain(model({}), { url: 'http://h:8080/public/../admin' });
  t.equal(e.request.path, '/public/../admin');
  t.equal(e.request.routedPath, undefined);
  t.equal(e.route, 'rest');
});

t.test('normalize_path and merge_slashes: the route sees the normalized path', async (t) => {
  const e = explain(model({ normalize_path: true, merge_slashes: true }), { url: 'http://h:8080/public/..//admin?x=1' });
  t.equal(e.request.routedPath, '/admin?x=1');
  t.equal(e.route, 'admin');
  t.match(formatTree(e), /^GET http:\/\/h:8080\/public\/\.\.\/\/admin\?x=1 \(routed as \/admin\?x=1\)\n/);
});

t.test('escaped slashes: rejected, redirected, or unescaped and forwarded', async (t) => {
  const url = 'http://h:8080/a%2Fb';
  const rejected = explain(model({ path_with_escaped_slashes_action: 'REJECT_REQUEST' }), { url });
  t.equal(rejected.route, null);
  t.same(rejected.notes, ['path_with_escaped_slashes_action REJECT_REQUEST: the path has %2F or %5C: 400']);
  t.same(explain(model({ path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT' }), { url }).action, { kind: 'redirect', status: 307, location: '/a/b' });
  t.equal(explain(model({ path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' }), { url }).request.routedPath, '/a/b');
  t.equal(explain(model({}), { url }).request.routedPath, undefined, 'KEEP_UNCHANGED');
});
