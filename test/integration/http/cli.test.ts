// The `legate` command line as a user runs it: validate, run with a bad config (one readable
// line, no stack trace, non-zero exit), and run + SIGTERM draining a request in flight.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Client, request } from 'undici';
import { bootstrap, httpListener, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { waitFor } from '../../support/http.ts';
import { runCli, spawnLegate, type CliResult } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const badDuration = file('bad-duration.yaml', 'static_resources:\n  clusters:\n    - name: a\n      connect_timeout: banana\n');
const badYaml = file('bad-syntax.yaml', 'static_resources: [\n');

/** A failure as a user must see it: non-zero exit, one line on stderr naming the problem, no stack. */
function assertOneLineError(t: Test, result: CliResult, mentions: RegExp): void {
  t.not(result.code, 0, 'non-zero exit');
  t.equal(result.signal, null, 'exited by itself');
  const lines = result.stderr.trimEnd().split('\n');
  t.equal(lines.length, 1, `one line: ${result.stderr}`);
  t.match(lines[0], /^legate: /);
  t.match(lines[0], mentions);
  t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

t.test('validate: a good file exits 0', async (t) => {
  const result = await runCli(['validate', '-c', 'examples/demo.yaml']);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /examples\/demo\.yaml: OK \(1 listeners, 2 clusters, 1 route configs\)/);
});

t.test('validate: a bad value is one line naming file, line and field', async (t) => {
  const result = await runCli(['validate', '-c', badDuration]);
  assertOneLineError(t, result, /bad-duration\.yaml:4: static_resources\.clusters\[0\]\.connect_timeout: .*duration/);
});

t.test('validate: broken YAML is one line', async (t) => {
  assertOneLineError(t, await runCli(['validate', '-c', badYaml]), /bad-syntax\.yaml:\d+: invalid YAML/);
});

// The shape of Envoy's dynamic-config-fs example: listeners and clusters in files, a filter chain's
// `filters` given as one object (Envoy reads it as a list of one).
const fileLds = file('lds.yaml', [
  'resources:',
  '- "@type": type.googleapis.com/envoy.config.listener.v3.Listener',
  '  name: listener_0',
  '  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }',
  '  filter_chains:',
  '  - filters:',
  '      name: envoy.filters.network.http_connection_manager',
  '      typed_config:',
  '        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  '        stat_prefix: ingress_http',
  '        http_filters: [{ name: envoy.filters.http.router, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } }]',
  '        rds: { route_config_name: local_route, config_source: { path_config_source: { path: ' + JSON.stringify(join(dir, 'rds.yaml')) + ' } } }',
  '',
].join('\n'));
const fileCds = file('cds.yaml', 'resources:\n- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster\n  name: app\n  type: strict_dns\n  load_assignment: { cluster_name: app, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: localhost, port_value: 8080 } } } }] }] }\n');
const fileBootstrap = file('files.yaml', `node: { id: a, cluster: b }\ndynamic_resources:\n  lds_config: { path_config_source: { path: ${JSON.stringify(fileLds)} } }\n  cds_config: { path_config_source: { path: ${JSON.stringify(fileCds)} } }\n`);

t.test('validate: the files a bootstrap takes resources from are checked too', async (t) => {
  file('rds.yaml', 'resources:\n- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration\n  name: local_route\n  virtual_hosts: [{ name: a, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: app } }] }]\n');
  const good = await runCli(['validate', '-c', fileBootstrap]);
  t.equal(good.code, 0, good.stderr);
  t.match(good.stdout, /OK \(0 listeners, 0 clusters, 0 route configs; from files: 1 listeners, 1 clusters\)/);
  file('rds.yaml', 'resources:\n- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration\n  name: other_route\n');
  assertOneLineError(t, await runCli(['validate', '-c', fileBootstrap]), /rds\.yaml: no route configuration 'local_route' \(listener 'listener_0' names it\)/);
  file('rds.yaml', 'resources:\n- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration\n  name: local_route\n  virtual_hosts: [{ name: a, domains: "*", routes: [{ match: { prefx: / } }] }]\n');
  assertOneLineError(t, await runCli(['validate', '-c', fileBootstrap]), /rds\.yaml: resources\[0\]\.virtual_hosts\[0\]\.routes\[0\]\.match\.prefx: unknown field/);
});

t.test('validate: a missing file is one line', async (t) => {
  assertOneLineError(t, await runCli(['validate', '-c', join(dir, 'nope.yaml')]), /nope\.yaml: cannot read/);
});

t.test('run: a bad config exits non-zero with one line', async (t) => {
  assertOneLineError(t, await runCli(['run', '-c', badDuration, '--workers', '1']), /connect_timeout/);
});

t.test('run: a listener port in use exits non-zero with one line', async (t) => {
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => squatter.close(resolve)));
  const listener = httpListener('busy', routes([{ match: { prefix: '/' }, direct_response: { status: 200 } }]));
  listener.address = socketAddress('127.0.0.1', (squatter.address() as net.AddressInfo).port);
  const config = file('busy.json', JSON.stringify(bootstrap([listener], [])));
  assertOneLineError(t, await runCli(['run', '-c', config, '--workers', '1']), /listener 'busy': cannot bind/);
});

t.test('run: SIGTERM drains a request in flight, which gets its real answer, then exits 0', async (t) => {
  let release: (() => void) | undefined;
  const slow = await startUpstream('slow', (req, res) => {
    req.resume();
    release = () => res.end('the real answer');
  });
  t.teardown(() => slow.close());
  const legate = await spawnLegate(
    bootstrap([httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'slow' } }]))], [staticCluster('slow', [{ port: slow.port }])]),
    ['--drain-time-s', '10'],
  );
  t.teardown(() => legate.stop('SIGKILL'));
  const inFlight = request(legate.url('/slow')).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
  await slow.waitFor('/slow');
  legate.child.kill('SIGTERM');
  await waitFor('the drain to start', () => (legate.stderrLines.some((l) => l.includes('SIGTERM: draining')) ? true : undefined));
  // Draining: the listener no longer accepts new connections.
  await waitFor('the listener to close', () =>
    request(legate.url('/new')).then(
      async (r) => void (await r.body.text()),
      (err: Error & { code?: string }) => (err.code === 'ECONNREFUSED' ? true : undefined),
    ),
  );
  release!();
  t.same(await inFlight, { status: 200, body: 'the real answer' }, 'the request in flight completed normally');
  const exit = await legate.exited;
  t.equal(exit.code, 0, 'exit 0 after draining');
});

t.test('run: SIGTERM closes idle keep-alive connections at once instead of waiting the drain time', async (t) => {
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  const legate = await spawnLegate(
    bootstrap([httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]))], [staticCluster('app', [{ port: app.port }])]),
    ['--drain-time-s', '60'],
  );
  t.teardown(() => legate.stop('SIGKILL'));
  const client = new Client(`http://127.0.0.1:${legate.port()}`, { keepAliveTimeout: 60_000 });
  t.teardown(() => client.destroy());
  const first = await client.request({ path: '/', method: 'GET' });
  await first.body.text();
  const started = Date.now();
  legate.child.kill('SIGTERM');
  const exit = await legate.exited;
  t.equal(exit.code, 0);
  t.ok(Date.now() - started < 20_000, `exited in ${Date.now() - started} ms, well before the 60 s drain time`);
});
