// HTTP/1.1 message framing through the proxy: HEAD, chunked requests and responses, response
// trailers, Expect: 100-continue, and the bodiless 204 and 304.
import http from 'node:http';
import t from 'tap';
import { Client } from 'undici';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';

const echo = await startUpstream('echo', echoHandler('echo'));
// One path per framing case; each answers as the path says.
const framing = await startUpstream('framing', (req, res) => {
  req.resume();
  req.once('end', () => {
    switch (req.url) {
      case '/head':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1234 });
        res.end();
        return;
      case '/chunked':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first,');
        setImmediate(() => res.end('second'));
        return;
      case '/trailers':
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('body with a trailer');
        res.addTrailers({ 'x-checksum': 'c0ffee' });
        res.end();
        return;
      case '/no-content':
        res.writeHead(204, { 'x-kind': 'no-content' });
        res.end();
        return;
      case '/not-modified':
        res.writeHead(304, { etag: '"v1"' });
        res.end();
        return;
      default:
        res.writeHead(404);
        res.end();
    }
  });
});
t.teardown(() => Promise.all([echo.close(), framing.close()]));

const legate = await startLegate(
  bootstrap(
    [httpListener('ingress', routes([{ match: { prefix: '/echo' }, route: { cluster: 'echo' } }, { match: { prefix: '/' }, route: { cluster: 'framing' } }]))],
    [staticCluster('echo', [{ port: echo.port }]), staticCluster('framing', [{ port: framing.port }])],
  ),
);
t.teardown(() => legate.stop());

/** A node:http request whose body is written in pieces (so it goes chunked); resolves with the response and its trailers. */
function send(path: string, options: http.RequestOptions, pieces: string[] = []) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; trailers: NodeJS.Dict<string>; body: string; sawContinue: boolean }>((resolve, reject) => {
    let sawContinue = false;
    const req = http.request(legate.url(path), { agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body, sawContinue }));
    });
    req.on('error', reject);
    const writeBody = () => {
      for (const piece of pieces) req.write(piece);
      req.end();
    };
    if ((options.headers as http.OutgoingHttpHeaders | undefined)?.expect === '100-continue') {
      req.on('continue', () => {
        sawContinue = true;
        writeBody();
      });
    } else {
      writeBody();
    }
  });
}

t.test('HEAD: headers with content-length, no body', async (t) => {
  const reply = await fetchText(legate.url('/head'), { method: 'HEAD' });
  t.equal(reply.status, 200);
  t.equal(reply.headers['content-length'], '1234', "the upstream's content-length is kept");
  t.equal(reply.body, '');
  t.equal(framing.seen.at(-1)?.method, 'HEAD', 'the upstream saw HEAD');
});

t.test('chunked request body', async (t) => {
  const reply = await send('/echo/chunked', { method: 'POST' }, ['one,', 'two,', 'three']);
  t.equal(reply.status, 200);
  const seen = JSON.parse(reply.body) as Echo;
  t.equal(seen.body, 'one,two,three', 'every chunk arrived in order');
});

t.test('chunked response body', async (t) => {
  const reply = await send('/chunked', {});
  t.equal(reply.status, 200);
  t.equal(reply.headers['transfer-encoding'], 'chunked');
  t.equal(reply.headers['content-length'], undefined);
  t.equal(reply.body, 'first,second');
});

t.test('response trailers pass through a chunked response', async (t) => {
  const reply = await send('/trailers', { headers: { te: 'trailers' } });
  t.equal(reply.status, 200);
  t.equal(reply.body, 'body with a trailer');
  t.same(reply.trailers, { 'x-checksum': 'c0ffee' });
});

t.test('Expect: 100-continue gets 100 from the proxy, then the answer', async (t) => {
  const reply = await send('/echo/expect', { method: 'POST', headers: { expect: '100-continue', 'content-length': '11' } }, ['hello world']);
  t.ok(reply.sawContinue, 'the client got 100 Continue before sending the body');
  t.equal(reply.status, 200);
  const seen = JSON.parse(reply.body) as Echo;
  t.equal(seen.body, 'hello world');
  t.equal(seen.headers.expect, undefined, 'Expect is not forwarded (the proxy answered it)');
});

t.test('204 and 304 have no body and keep the connection usable', async (t) => {
  const client = new Client(`http://127.0.0.1:${legate.port()}`);
  t.teardown(() => client.close());
  let connections = 0;
  client.on('connect', () => connections++);
  for (const [path, status] of [['/no-content', 204], ['/not-modified', 304], ['/no-content', 204]] as const) {
    const res = await client.request({ path, method: 'GET' });
    t.equal(res.statusCode, status, path);
    t.equal(await res.body.text(), '', `${path}: no body`);
    t.equal(res.headers['transfer-encoding'], undefined, `${path}: no chunked framing`);
  }
  const res = await client.request({ path: '/echo/after', method: 'GET' });
  t.equal(((await res.body.json()) as Echo).url, '/echo/after', 'the next request on the connection is answered correctly');
  t.equal(connections, 1, 'all on one connection');
});
