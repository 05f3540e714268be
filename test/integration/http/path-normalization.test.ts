// normalize_path and merge_slashes apply before routing: "/public/../admin" meets the /admin route;
// path_with_escaped_slashes_action decides what %2F and %5C in a path become, before them.
import t from 'tap';
import { bootstrap, httpListener, routes } from '../../support/bootstrap.ts';
import { rawExchange } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';

const table = routes([
  { match: { prefix: '/admin' }, direct_response: { status: 403, body: { inline_string: 'admin is closed' } } },
  { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'public' } } },
]);
const legate = await startLegate(
  bootstrap([
    httpListener('normalized', table, { normalize_path: true, merge_slashes: true }),
    httpListener('raw', table),
    httpListener('reject', table, { path_with_escaped_slashes_action: 'REJECT_REQUEST' }),
    httpListener('redirect', table, { path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT', normalize_path: true }),
    httpListener('forward', table, { path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD', normalize_path: true }),
  ], []),
);
t.teardown(() => legate.stop());

// A raw request line, since HTTP clients resolve dot segments themselves.
const get = (listener: string, path: string) => rawExchange(legate.port(listener), `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);

t.test('with normalize_path and merge_slashes the real path is routed', async (t) => {
  t.match(await get('normalized', '/public/../admin'), /^HTTP\/1\.1 403 /);
  t.match(await get('normalized', '//admin'), /^HTTP\/1\.1 403 /);
});

t.test('without them the path is routed as sent', async (t) => {
  t.match(await get('raw', '/public/../admin'), /^HTTP\/1\.1 200 /);
});

t.test('escaped slashes: kept by default, rejected, redirected or forwarded unescaped', async (t) => {
  t.match(await get('raw', '/public%2F..%2Fadmin'), /^HTTP\/1\.1 200 /, 'KEEP_UNCHANGED (the default): one opaque segment');
  t.match(await get('reject', '/a%2fb?x=%2F'), /^HTTP\/1\.1 400 /, 'REJECT_REQUEST: 400');
  t.match(await get('reject', '/a/b?x=%2F'), /^HTTP\/1\.1 200 /, 'only the path counts, not the query');
  const redirected = await get('redirect', '/public%2F..%2Fadmin?q=1');
  t.match(redirected, /^HTTP\/1\.1 307 /, 'UNESCAPE_AND_REDIRECT: 307');
  t.match(redirected, /\r\nlocation: \/admin\?q=1\r\n/i, 'to the unescaped, normalized path');
  t.match(await get('forward', '/public%2F..%2Fadmin'), /^HTTP\/1\.1 403 /, 'UNESCAPE_AND_FORWARD: the unescaped path is routed');
  const stats = await (await fetch(legate.adminUrl('/stats?format=json'))).json() as { stats: { name: string; value: number }[] };
  const stat = (name: string) => stats.stats.find((s) => s.name === name)?.value;
  t.equal(stat('http.reject.downstream_rq_failed_path_normalization'), 1);
  t.equal(stat('http.redirect.downstream_rq_redirected_with_normalized_path'), 1);
});
