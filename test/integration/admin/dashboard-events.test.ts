// The admin's /dashboard/events over a real socket: an event stream of frames with the requests the
// proxy served; the feed stops when the last client disconnects. And the page and the home link.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { stringify } from 'yaml';
import { dashboardFeed } from '../../../proxy/admin/handlers/dashboard.ts';
import type { Frame } from '../../../proxy/admin/dashboard/frame.ts';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { edsCluster, loadAssignment } from '../../support/xds-proxy.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const upstream = await startUpstream('app');
t.teardown(() => upstream.close());
const legate = await startLegate(bootstrap(
  [httpListener('web', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]))],
  [staticCluster('app', [{ port: upstream.port }])],
));
t.teardown(() => legate.stop());

/** Opens the event stream; `next()` resolves with each frame in turn (bounded). */
function openEvents(adminUrl = legate.adminUrl('')): Promise<{ response: http.IncomingMessage; next(): Promise<Frame>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${adminUrl}/dashboard/events`, (response) => {
      const frames: Frame[] = [];
      const waiting: ((f: Frame) => void)[] = [];
      let buffer = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!event.startsWith('data: ')) continue;
          const frame = JSON.parse(event.slice(6)) as Frame;
          const waiter = waiting.shift();
          if (waiter !== undefined) waiter(frame);
          else frames.push(frame);
        }
      });
      const next = () => {
        const ready = frames.shift();
        if (ready !== undefined) return Promise.resolve(ready);
        return new Promise<Frame>((resolveFrame, rejectFrame) => {
          const timer = setTimeout(() => rejectFrame(new Error('no frame within 5 s')), 5000);
          waiting.push((f) => {
            clearTimeout(timer);
            resolveFrame(f);
          });
        });
      };
      resolve({ response, next, close: () => req.destroy() });
    });
    req.once('error', reject);
  });
}

t.test('frames while a client listens, and nothing after', async (t) => {
  const feed = dashboardFeed(legate.primary);
  t.notOk(feed.running, 'no sampling before anyone looks');
  const events = await openEvents();
  t.equal(events.response.statusCode, 200);
  t.match(events.response.headers['content-type'], /^text\/event-stream/);
  const first = await events.next();
  t.equal(first.listeners[0].managers[0].rqTotal, 0);

  for (let i = 0; i < 5; i++) await (await request(legate.url(`/r${i}`))).body.dump();
  // bounded: frames come once a second; the requests show in the next one or two
  let frame = await events.next();
  for (let i = 0; i < 3 && frame.listeners[0].managers[0].rqTotal < 5; i++) frame = await events.next();
  t.match(frame.listeners[0].managers[0], { statPrefix: 'web', rqTotal: 5, classes: [0, 5, 0, 0, 0] });
  t.equal(frame.clusters[0].rqTotal, 5);
  t.equal(feed.clients, 1);

  events.close();
  const deadline = Date.now() + 5000;
  while (feed.running && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20)); // polling the feed, bounded
  t.equal(feed.clients, 0, 'the client is gone');
  t.notOk(feed.running, 'the timer stopped with the last client');
});

t.test('the page, and the home page links to it', async (t) => {
  const page = await request(legate.adminUrl('/dashboard'));
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], 'text/html');
  const html = await page.body.text();
  t.match(html, 'new EventSource("/dashboard/events")');
  t.notMatch(html, /<script[^>]+src=|<link\b|<img\b|@import|url\(/, 'self-contained: nothing loaded from elsewhere');

  const home = await request(legate.adminUrl('/'));
  t.match(home.headers['content-type'], 'text/html');
  t.match(await home.body.text(), '<a class="dash" href="/dashboard">');
  const help = await (await request(legate.adminUrl('/help'))).body.text();
  t.match(help, /^admin commands are:\n/);
  t.match(help, '  /dashboard: live dashboard');
});

t.test('xDS: the version of each type, then the last NACK and its reason', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'legate-dashboard-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cds = path.join(dir, 'cds.yaml');
  const cluster = edsCluster('backend', { edsPath: path.join(dir, 'eds.yaml') });
  const clusters = (version: string, count: number) => stringify({ version_info: version, resources: Array(count).fill(cluster) });
  await writeFile(path.join(dir, 'eds.yaml'), stringify({ version_info: 'e1', resources: [loadAssignment('backend', [upstream.port])] }));
  await writeFile(cds, clusters('c1', 1));
  const dynamic = await startLegate(bootstrap([], [], { dynamic_resources: { cds_config: { path_config_source: { path: cds }, resource_api_version: 'V3' } } }));
  t.teardown(() => dynamic.stop());

  const events = await openEvents(dynamic.adminUrl(''));
  t.teardown(() => events.close());
  const first = await events.next();
  t.match(first.xds.types.find((x) => x.type === 'CDS'), { version: 'c1', resources: 1 });
  t.equal(first.xds.lastNack, null);

  await writeFile(`${cds}.next`, clusters('c2', 2));
  await rename(`${cds}.next`, cds);
  let frame = await events.next();
  for (let i = 0; i < 5 && frame.xds.lastNack === null; i++) frame = await events.next(); // bounded: frames come once a second
  t.match(frame.xds.lastNack, { type: 'CDS', source: `path:${cds}`, error: /backend/ });
  t.match(frame.xds.types.find((x) => x.type === 'CDS'), { version: 'c1' }, 'the last good version still runs');
});
