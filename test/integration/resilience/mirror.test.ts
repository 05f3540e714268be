// request_mirror_policies: the shadow cluster gets a copy (authority with -shadow, same body),
// the client gets only the main cluster's answer, and a failing shadow changes nothing.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedPort, startUpstream } from '../../support/upstream.ts';

const bodies: string[] = [];
const main = await startUpstream('main');
const shadow = await startUpstream('shadow', (req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c));
  req.on('end', () => {
    bodies.push(body);
    res.writeHead(500);
    res.end('shadow answer');
  });
});
t.teardown(() => main.close());
t.teardown(() => shadow.close());
const deadPort = await closedPort();

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/dead' }, route: { cluster: 'main', request_mirror_policies: [{ cluster: 'dead' }] } },
          { match: { prefix: '/' }, route: { cluster: 'main', request_mirror_policies: [{ cluster: 'shadow' }] } },
        ]),
      ),
    ],
    [staticCluster('main', [{ port: main.port }]), staticCluster('shadow', [{ port: shadow.port }]), staticCluster('dead', [{ port: deadPort }])],
  ),
);
t.teardown(() => legate.stop());

t.test('a GET is shadowed with the -shadow authority', async (t) => {
  const reply = await fetchText(legate.url('/get?x=1'), { headers: { host: 'app.example:8080' } });
  t.equal(reply.status, 200);
  t.match(reply.body, /"upstream":"main"/, 'the client sees only the main answer');
  const seen = await waitFor('the shadow request', () => shadow.seen.find((s) => s.url === '/get?x=1'));
  t.equal(seen.headers.host, 'app.example-shadow:8080');
  t.equal(seen.method, 'GET');
});

t.test('a POST body reaches main and shadow alike', async (t) => {
  const reply = await fetchText(legate.url('/post'), { method: 'POST', body: 'payload-123' });
  t.equal(reply.status, 200);
  await waitFor('the shadow body', () => bodies.find((b) => b === 'payload-123'));
  t.ok(main.seen.some((s) => s.url === '/post' && s.method === 'POST'));
});

t.test('a shadow cluster that refuses connections does not affect the client', async (t) => {
  const reply = await fetchText(legate.url('/dead'));
  t.equal(reply.status, 200);
  t.match(reply.body, /"upstream":"main"/);
});
