// normalize_path and merge_slashes apply before routing: "/public/../admin" meets the /admin route.
import t from 'tap';
import { bootstrap, httpListener, routes } from '../../support/bootstrap.ts';
import { rawExchange } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';

const table = routes([
  { match: { prefix: '/admin' }, direct_response: { status: 403, body: { inline_string: 'admin is closed' } } },
  { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'public' } } },
]);
const legate = await startLegate(
  bootstrap([httpListener('normalized', table, { normalize_path: true, merge_slashes: true }), httpListener('raw', table)], []),
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
