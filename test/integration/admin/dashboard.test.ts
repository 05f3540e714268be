// The admin's /dashboard in a real browser: Debian's chromium, headless, driven over the DevTools
// protocol (puppeteer-core). `legate run --workers 2` serves a weighted split over two upstreams;
// traffic goes through it while the page is open, and the numbers the page renders must be the
// requests sent (merged from both workers), with a rate while they flow. Then a refused CDS file
// as the last NACK, the page's explain box for a URL, and a screenshot that is not blank.
// LEGATE_DASHBOARD_SCREENSHOT=path also writes the screenshot there (the README's picture).
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { colourSpread, decodePng } from '../../support/png.ts';
import { startUpstream } from '../../support/upstream.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `chromium not installed: no ${CHROMIUM} (apt-get install chromium)`;

t.test('the dashboard in headless chromium', { skip }, async (t) => {
  const { default: puppeteer } = await import('puppeteer-core');

  const REQUESTS = 40;

  const upstreams = [await startUpstream('blue'), await startUpstream('green')];
  t.teardown(() => Promise.all(upstreams.map((u) => u.close())));

  // The clusters come from a CDS file, so a refused update can show as the last NACK.
  const dir = await mkdtemp(path.join(tmpdir(), 'legate-dashboard-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cds = path.join(dir, 'cds.yaml');
  const clusterType = { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster' };
  const clusters = [{ ...clusterType, ...staticCluster('blue', [{ port: upstreams[0].port }]) }, { ...clusterType, ...staticCluster('green', [{ port: upstreams[1].port }]) }];
  await writeFile(cds, stringify({ version_info: 'c1', resources: clusters }));
  const legate = await spawnLegate(bootstrap(
    [httpListener('web', routes([
      { name: 'moved', match: { prefix: '/old' }, redirect: { path_redirect: '/new' } },
      { name: 'shop', match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'blue', weight: 80 }, { name: 'green', weight: 20 }] } } },
    ]))],
    [],
    { dynamic_resources: { cds_config: { path_config_source: { path: cds }, resource_api_version: 'V3' } } },
  ), ['--workers', '2']);
  t.teardown(() => legate.stop());

  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 1360, height: 1100 });

  /** The text of the first element matching the selector, or '' */
  const textOf = (selector: string) => page.$eval(selector, (e) => e.textContent ?? '').catch(() => '');
  const number = (text: string) => Number(text.replace(/,/g, ''));

  await t.test('the page renders the traffic it is shown while open', async (t) => {
    await page.goto(legate.adminUrl('/dashboard'));
    await page.waitForFunction('Number(document.body.dataset.frames ?? 0) >= 1', { timeout: 10_000 });
    t.equal(await textOf('[data-listener="web"] [data-k=rqTotal]'), '0', 'no requests yet');

    // Several connections, so both workers take some.
    const agent = new Agent({ connections: 4 });
    t.teardown(() => agent.close());
    const statuses = await Promise.all(Array.from({ length: REQUESTS }, async (_, i) => {
      const response = await request(legate.url(`/item/${i}`), { dispatcher: agent });
      await response.body.dump();
      return response.statusCode;
    }));
    t.same(new Set(statuses), new Set([200]), 'every request answered');

    // The frame in which the count reaches REQUESTS counts the last requests in its rate.
    await page.waitForFunction(`(() => {
      const value = (k) => Number((document.querySelector('[data-listener="web"] [data-k=' + k + ']')?.textContent ?? '').replace(/,/g, ''));
      return value('rqTotal') === ${REQUESTS} && value('rps') > 0;
    })()`, { timeout: 10_000, polling: 'mutation' });
    t.equal(number(await textOf('[data-listener="web"] [data-k=c2xx]')), REQUESTS, '2xx');
    t.equal(number(await textOf('[data-listener="web"] [data-k=c5xx]')), 0, '5xx');
    t.match(await textOf('[data-listener="web"] [data-k=latency]'), /^[\d.]+ \/ [\d.]+ \/ [\d.]+$/, 'p50 / p90 / p99');

    const blue = number(await textOf('[data-cluster="blue"] [data-k=rqTotal]'));
    const green = number(await textOf('[data-cluster="green"] [data-k=rqTotal]'));
    t.equal(blue + green, REQUESTS, `the clusters' requests add up (blue ${blue}, green ${green})`);
    t.equal(upstreams[0].seen.length, blue, 'blue renders what blue served');
    t.equal(await textOf('[data-cluster="blue"] [data-k=healthy]'), '1/1');
    await page.click('[data-toggle="blue"]');
    const hosts = await page.$$eval('[data-host]', (rows) => rows.map((r) => [r.getAttribute('data-host'), r.querySelector('.badge')?.textContent]));
    t.same(hosts, [[upstreams[0].address, 'healthy']], "blue's host shown on a click");

    const observed = await page.$$eval('[data-split] [data-k=observed]', (cells) => cells.map((c) => c.textContent));
    t.same(observed, [`${(100 * blue / REQUESTS).toFixed(1)} %`, `${(100 * green / REQUESTS).toFixed(1)} %`], 'observed split');

    const workers = await page.$$eval('[data-worker]', (rows) => rows.map((r) => r.getAttribute('data-worker')));
    t.same(workers, ['primary', '0', '1'], 'the primary and both workers');
    const rss = await page.$$eval('[data-worker] [data-k=rss]', (cells) => cells.map((c) => Number.parseFloat(c.textContent ?? '')));
    t.ok(rss.every((mb) => mb > 10), `RSS shown: ${rss.join(', ')} MB`);
    t.equal(await textOf('[data-xds="LDS"] [data-k=version]'), 'static');
    t.equal(await textOf('[data-xds="CDS"] [data-k=version]'), 'c1');
  });

  await t.test('a refused CDS update shows as the last NACK, with its reason', async (t) => {
    t.equal(await textOf('#last-nack'), '', 'none yet');
    await writeFile(`${cds}.next`, stringify({ version_info: 'c2', resources: [...clusters, clusters[0]] }));
    await rename(`${cds}.next`, cds);
    await page.waitForSelector('#last-nack', { timeout: 10_000 });
    t.match(await textOf('#last-nack'), /^last NACK: CDS from path:\S+cds\.yaml at .+\n.*blue/s);
    t.equal(await textOf('[data-xds="CDS"] [data-k=version]'), 'c1', 'the last good version runs on');
  });

  await t.test('the explain box shows what the proxy would do with a URL', async (t) => {
    await page.locator('#explain-url').fill('not a url');
    await page.click('#explain-form button');
    await page.waitForSelector('#explain-result [data-k=error]', { timeout: 5000 });
    t.ok((await textOf('#explain-result [data-k=error]')).length > 0, 'a bad URL gets its one-line error');

    await page.locator('#explain-url').fill(legate.url('/old/cart'));
    await page.click('#explain-form button');
    await page.waitForSelector('#explain-result [data-k=action]', { timeout: 5000 });
    t.equal(await textOf('#explain-result [data-k=listener]'), 'web');
    t.equal(await textOf('#explain-result [data-k=route]'), 'moved');
    t.match(await textOf('#explain-result [data-k=action]'), /^redirect 301 → http:\/\/127\.0\.0\.1:\d+\/new$/);

    await page.locator('#explain-url').fill(legate.url('/item/1'));
    await page.click('#explain-form button');
    await page.waitForFunction(`document.querySelector('#explain-result [data-k=route]')?.textContent === 'shop'`, { timeout: 5000 });
    t.equal(await textOf('#explain-result [data-k=action]'), 'route → blue 80.0 %, green 20.0 %');
  });
  await t.test('a screenshot of it is not blank', async (t) => {
    const png = Buffer.from(await page.screenshot({ type: 'png' }));
    if (process.env.LEGATE_DASHBOARD_SCREENSHOT) writeFileSync(process.env.LEGATE_DASHBOARD_SCREENSHOT, png);
    const image = decodePng(png);
    t.same([image.width, image.height], [1360, 1100]);
    const { colours, dominantShare } = colourSpread(image);
    t.ok(colours > 50, `${colours} colours`);
    t.ok(dominantShare < 0.9, `the commonest colour covers ${(100 * dominantShare).toFixed(0)} %`);
  });
});
