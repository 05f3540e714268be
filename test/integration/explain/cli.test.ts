// `legate explain -c FILE` as a user runs it: the readable tree, --json for scripts, and a
// question it cannot answer as one line on stderr with exit 1.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { Explanation } from '../../../proxy/explain/index.ts';
import { bootstrap, httpListener, staticCluster } from '../../support/bootstrap.ts';
import { REPO, runCli, type CliResult } from '../../support/legate-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-explain-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const listener = httpListener('web', {
  name: 'routes',
  virtual_hosts: [
    {
      name: 'shop',
      domains: ['shop.example.com'],
      routes: [
        { name: 'health', match: { path: '/healthz' }, direct_response: { status: 200, body: { inline_string: 'ok\n' } } },
        { name: 'canary', match: { prefix: '/', headers: [{ name: 'x-canary', present_match: true }] }, route: { cluster: 'green' } },
        { name: 'split', match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'blue', weight: 80 }, { name: 'green', weight: 20 }] } } },
      ],
    },
  ],
});
listener.address.socket_address.port_value = 8080;
const config = join(dir, 'bootstrap.json');
writeFileSync(config, JSON.stringify(bootstrap([listener], [staticCluster('blue', [{ port: 9001 }]), staticCluster('green', [{ port: 9002 }])])));

function assertOneLineError(t: Test, result: CliResult, message: string): void {
  t.equal(result.code, 1, 'exit 1');
  t.equal(result.stderr, `legate: ${message}\n`, 'one line');
  t.equal(result.stdout, '');
}

t.test('the tree names the listener, the routes passed over and why, and the split', async (t) => {
  const result = await runCli(['explain', '-c', config, 'http://shop.example.com:8080/cart']);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, [
    'GET http://shop.example.com:8080/cart',
    'listener web (127.0.0.1:8080): bound to port 8080 (shop.example.com is taken to resolve to 127.0.0.1)',
    '  connection to 127.0.0.1:8080 from 127.0.0.1, raw_buffer',
    '  filter chain #0: the only filter chain',
    '  transport socket raw_buffer, network filter envoy.filters.network.http_connection_manager (stat_prefix web)',
    'route config inline:web:0',
    '  virtual host shop (domains shop.example.com)',
    "    route health: path '/healthz' is not '/cart'",
    "    route canary: header 'x-canary' must be present: absent",
    '    route split: matched',
    'http filters',
    '  envoy.filters.http.router',
    'route to blue 80 % (weight 80), green 20 % (weight 20)',
    '  timeout 15s',
    '  retries none',
    'cluster blue (STATIC, ROUND_ROBIN, hosts as configured; max requests 1024, connections 1024, retries 3)',
    '  upstream HTTP1, TLS none, connect timeout 1s',
    '  127.0.0.1:9001 healthy weight 1 priority 0',
    '  next: ROUND_ROBIN: each worker picks among 1 healthy of 1 hosts with its own state; no single next host',
    'cluster green (STATIC, ROUND_ROBIN, hosts as configured; max requests 1024, connections 1024, retries 3)',
    '  upstream HTTP1, TLS none, connect timeout 1s',
    '  127.0.0.1:9002 healthy weight 1 priority 0',
    '  next: ROUND_ROBIN: each worker picks among 1 healthy of 1 hosts with its own state; no single next host',
    '',
  ].join('\n'));
});

t.test('--json with -X and -H: the same explanation for scripts', async (t) => {
  const result = await runCli(['explain', '-c', config, '--json', '-X', 'post', '-H', 'X-Canary: 1', 'http://shop.example.com:8080/cart']);
  t.equal(result.code, 0, result.stderr);
  const e = JSON.parse(result.stdout) as Explanation;
  t.equal(e.request.method, 'POST');
  t.equal(e.route, 'canary');
  t.same(e.virtualHost?.routes.map((r) => r.matched), [false, true]);
  t.same(e.clusters.map((c) => c.name), ['green']);
});

t.test('--mode sidecar: Istio\'s catch-all listener passes an unknown destination through', async (t) => {
  const result = await runCli(['explain', '-c', config, '--mode', 'sidecar', '--json', 'http://10.1.1.1:3306/']);
  t.equal(result.code, 0, result.stderr);
  const e = JSON.parse(result.stdout) as Explanation;
  t.equal(e.listener.name, 'virtualOutbound');
  t.match(e.clusters, [{ name: 'PassthroughCluster', pick: '10.1.1.1:3306' }]);
});

t.test('errors are one line and exit 1', async (t) => {
  assertOneLineError(t, await runCli(['explain', '-c', config, '--listener', 'x', 'http://shop.example.com:8080/']), "unknown listener 'x' (listeners: web)");
  assertOneLineError(t, await runCli(['explain', '-c', config, '/cart']), 'URL needs a host, e.g. http://example.com/cart');
  assertOneLineError(t, await runCli(['explain', '-c', config, '-H', 'nocolon', 'http://shop.example.com:8080/']), "header 'nocolon' needs the form 'name: value'");
  assertOneLineError(t, await runCli(['explain', 'http://shop.example.com:8080/']), 'explain needs one of -c FILE or --admin HOST:PORT');
});

t.test("the README's example is what the command prints", async (t) => {
  const command = 'legate explain -c test/fixtures/config/ingress.yaml http://shop.example.com:10000/api/cart';
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(`$ ${command}\n`);
  t.ok(start !== -1, 'the README shows the command');
  const shown = readme.slice(start, readme.indexOf('\n...\n', start)).split('\n').slice(1);
  t.ok(shown.length > 20, `${shown.length} lines shown`);
  const result = await runCli(command.split(' ').slice(1));
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.split('\n').slice(0, shown.length), shown);
});
