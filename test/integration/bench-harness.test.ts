// The bench harness: end to end on 1-second runs (it must produce figures for each target and a
// table row for each, with wrk when installed and with autocannon), and unit by unit where a
// figure is computed: wrk's scripts and output, h2load's output, the proxy's CPU time from /proc and per 1,000
// requests, and the ratios taken within each round. Nothing here judges the figures themselves:
// bench is not a timed test.
import t from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { generatorFor, h2loadBinary, wrkBinary } from '../../bench/generator.ts';
import { checkH2loadSummary, h2loadArgs, h2loadResult, latencyFromLog, parseH2loadOutput } from '../../bench/h2load.ts';
import { cpuDelta, cpuPer1k, parseStat, sampleProcesses } from '../../bench/proc-stats.ts';
import { scenarioByName, ATTEMPT_HEADER, VIRTUAL_HOSTS } from '../../bench/scenarios.ts';
import { toMeasurement, type Cell, type Measurement } from '../../bench/session.ts';
import { summarize } from '../../bench/summary.ts';
import { WRK_MARKER, parseWrkOutput, runWrk, wrkArgs, wrkResult, wrkScript } from '../../bench/wrk.ts';
import { execFileSync } from 'node:child_process';
import { renderPeerConfig } from '../../bench/peers/render.ts';
import { peerValues } from '../../bench/peers/values.ts';
import { targetByName } from '../../bench/targets/index.ts';
import { targetUrl } from '../../bench/targets/types.ts';
import { makeBenchCertificate, opensslUnavailable } from '../../bench/tls-cert.ts';
import { meshTable, type MeshRow } from '../../bench/mesh.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const LEGATE = fs.existsSync(path.join(REPO, 'proxy', 'cli.ts'));
const WRK = wrkBinary();
const TARGETS = ['direct', 'l4-pipe', 'naive-node', ...(LEGATE ? ['legate-1'] : [])];

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBench(args: string[], timeoutMs: number, teardown: (fn: () => void) => void): Promise<Exit> {
  const child = spawn(process.execPath, [path.join(REPO, 'bench', 'run.ts'), ...args], { cwd: REPO });
  // SIGTERM lets the bench stop the proxies and upstream it started.
  const kill = () => child.kill('SIGTERM');
  const timer = setTimeout(kill, timeoutMs);
  teardown(() => {
    clearTimeout(timer);
    if (child.exitCode === null) kill();
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

interface Row {
  scenario: string;
  target: string;
}

t.test('a 1-second run measures every target and reports it', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const jsonFile = path.join(out, 'run.json');
  const args = ['--duration', '1', '--warmup', '0.2', '--rounds', '1', '--scenarios', 'get64'];
  args.push('--targets', TARGETS.join(','), '--out', out, '--json', jsonFile);
  const exit = await runBench(args, 90_000, (fn) => t.teardown(fn));
  t.equal(exit.code, 0, `bench exits 0: ${exit.stderr.slice(-2000)}`);

  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  t.equal(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'), fs.readFileSync(jsonFile, 'utf8'), '--json copies latest.json');
  const cell = (target: string) => report.cells.find((c: Row) => c.scenario === 'get64' && c.target === target);
  const summary = (target: string) => report.summary.find((c: Row) => c.scenario === 'get64' && c.target === target);
  const generator = WRK ? 'wrk' : 'autocannon';
  t.equal(report.options.loadGenerator, generator, `the default load generator is ${generator}`);

  for (const target of ['direct', 'l4-pipe', 'naive-node']) {
    const measured = cell(target);
    t.equal(measured?.status, 'ok', `${target} measured: ${measured?.reason ?? ''}`);
    const [m] = measured.measurements;
    t.equal(m.generator, generator, `${target} load from ${generator}`);
    t.ok(m.requests > 0, `${target} completed requests`);
    t.equal(m.ok, m.requests, `${target}: every response a success`);
    t.equal(m.errors, 0, `${target}: no errors`);
    for (const key of ['p50', 'p90', 'p99', 'p999', 'max']) t.ok(m.latencyMs[key] > 0, `${target} latency ${key}`);
    if (generator === 'autocannon') t.type(m.latencyHistogram, 'string', `${target} raw histogram kept`);
    t.ok(summary(target).rps.median > 0, `${target} summarised`);
  }
  for (const target of ['l4-pipe', 'naive-node']) {
    const m = cell(target).measurements[0];
    t.ok(m.cpuSeconds >= 0 && m.rssBytes > 0, `${target}: proxy CPU and memory read from /proc`);
    t.equal(m.cpuPer1k, (m.cpuSeconds / m.ok) * 1000, `${target}: CPU s per 1,000 successful requests`);
    t.equal(summary(target).ratios[target].median, 1, `${target} is its own reference`);
  }
  t.ok(cell('naive-node').measurements[0].cpuSeconds > 0, 'the naive proxy spent CPU time');
  t.ok(summary('direct').ratios['naive-node'].median > 0, 'direct compared with the naive proxy');
  t.equal(cell('direct').measurements[0].cpuSeconds, undefined, 'no proxy process for direct');

  if (LEGATE) {
    const legate = cell('legate-1');
    if (legate.status === 'ok') {
      t.ok(legate.measurements[0].requests > 0, 'legate-1 completed requests');
      t.ok(legate.measurements[0].cpuPer1k > 0, 'legate-1 CPU per 1,000 requests');
    } else {
      t.ok(legate.reason, `legate-1 not measured, with a reason: ${legate.reason}`);
    }
  }

  const markdown = fs.readFileSync(path.join(out, 'latest.md'), 'utf8');
  t.match(markdown, new RegExp(`^- Load generator: ${generator} `, 'm'), 'the header names the load generator');
  t.match(markdown, /^\| scenario \| target \| req\/s \| CPU s\/1k req \| p99 ms \| vs L4 pipe \| vs nginx \| vs naive-node \|/m, 'columns');
  for (const target of TARGETS) t.match(markdown, new RegExp(`^\\| get64 \\| ${target} \\|`, 'm'), `table row for ${target}`);
  t.match(exit.stdout, /\| get64 \| direct \|/, 'the table is printed');
  t.match(fs.readFileSync(path.join(out, 'latency-get64.svg'), 'utf8'), /^<svg[^>]*>[\s\S]*<\/svg>\s*$/, 'latency plot written');
});

t.test('the mesh-scale section: measured through legate run, with the goals judged', { skip: LEGATE ? false : 'needs proxy/cli.ts' }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mesh-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const jsonFile = path.join(out, 'run.json');
  const args = ['--duration', '1', '--warmup', '0.2', '--rounds', '1', '--scenarios', 'get64', '--targets', 'direct', '--mesh', '20,40', '--out', out, '--json', jsonFile];
  const exit = await runBench(args, 90_000, (fn) => t.teardown(fn));
  t.equal(exit.code, 0, `bench exits 0: ${exit.stderr.slice(-2000)}`);
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  t.same(report.mesh.rows.map((r: MeshRow) => r.services), [20, 40], 'one row per size');
  for (const row of report.mesh.rows as MeshRow[]) {
    t.ok(row.fullMs > 0 && row.rss.length === 1 && row.rss[0] > 0, `${row.services}: apply time and RSS of the one process (--workers 1 serves in the primary)`);
    t.equal(row.edsOne.length, 10, `${row.services}: ten one-assignment pushes, each ACKed`);
  }
  const markdown = fs.readFileSync(path.join(out, 'latest.md'), 'utf8');
  t.match(markdown, /^Mesh scale: .*legate run --workers 1/m, 'the section is in the results');
  t.match(markdown, /^\| 40 \| [\d.]+ s \|/m, 'a table row per size');
  t.match(markdown, /^- one changed resource applied \(ACK\) in under 20 ms at every size: worst median [\d.]+ ms, (met|NOT met)$/m, 'the one-change goal judged');

  const row = (services: number, fullMs: number, rss: number[], one: number): MeshRow => ({ services, fullMs, rss, edsOne: [one], edsOneTraffic: [one], rdsOne: [one], edsAll: [] });
  const judged = meshTable([row(5000, 1200, [226], 4), row(10_000, 3400, [341], 25)], { sizes: [5000, 10_000], workers: 1, changes: 1, apiType: 'DELTA_GRPC' });
  t.match(judged, /worst median 25\.0 ms, NOT met/, 'a slow change fails its goal');
  t.match(judged, /10,000 services applied in under 3 s: 3\.40 s, NOT met/, 'a slow 10,000 fails its goal');
  t.match(judged, /at 5,000 services: largest 226 MiB, met/, 'memory at 5,000 judged on the largest process');
});

t.test('autocannon stays supported', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const args = ['--duration', '1', '--warmup', '0.2', '--rounds', '1', '--scenarios', 'get64', '--targets', 'direct,l4-pipe'];
  args.push('--load-generator', 'autocannon', '--out', out);
  const exit = await runBench(args, 60_000, (fn) => t.teardown(fn));
  t.equal(exit.code, 0, `bench exits 0: ${exit.stderr.slice(-2000)}`);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'));
  for (const target of ['direct', 'l4-pipe']) {
    const [m] = report.cells.find((c: Row) => c.target === target).measurements;
    t.equal(m.generator, 'autocannon', `${target} load from autocannon`);
    t.equal(m.statusCounts['200'], m.requests, `${target}: every response a 200`);
    t.type(m.latencyHistogram, 'string', `${target} raw histogram kept`);
  }
  t.match(fs.readFileSync(path.join(out, 'latest.md'), 'utf8'), /^- Load generator: autocannon \S+, chosen with --load-generator/m);
});

t.test('an unknown load generator is refused', async (t) => {
  const exit = await runBench(['--load-generator', 'ab'], 30_000, (fn) => t.teardown(fn));
  t.not(exit.code, 0);
  t.match(exit.stderr, /expected one of wrk, autocannon/);
});

t.test('which generator runs which scenario', async (t) => {
  t.equal(generatorFor(scenarioByName('get64'), 'wrk'), 'wrk');
  t.equal(generatorFor(scenarioByName('post16k'), 'autocannon'), 'autocannon');
  t.equal(generatorFor(scenarioByName('rate1k'), 'wrk'), 'autocannon', 'wrk cannot pace: the fixed rate stays on autocannon');
  t.equal(generatorFor(scenarioByName('tcp'), 'wrk'), 'node-sockets');
  for (const chosen of ['wrk', 'autocannon'] as const) {
    t.equal(generatorFor(scenarioByName('h2-get64'), chosen), 'h2load', `HTTP/2 runs on h2load, not ${chosen}`);
    t.equal(generatorFor(scenarioByName('h2-tls-get64'), chosen), 'h2load');
  }
});

// Real output of `wrk --latency` with bench's script, for a run where half the responses were 503.
const WRK_OUTPUT = `Running 10s test @ http://127.0.0.1:18080/503
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   632.12us    1.38ms  14.55ms   92.17%
    Req/Sec    18.03k     9.47k   25.98k    75.00%
  Latency Distribution
     50%  134.00us
     75%  447.00us
     90%    1.63ms
     99%    7.79ms
  7160 requests in 400.58ms, 1.13MB read
  Non-2xx or 3xx responses: 3580
Requests/sec:  17874.22
Transfer/sec:      2.82MB

${WRK_MARKER}{"durationUs":400577,"requests":7160,"bytes":1184980,"errors":{"connect":0,"read":2,"write":0,"status":3580,"timeout":1},"latencyUs":{"p50":134,"p90":1626,"p99":7788,"p999":12770,"max":14554,"mean":632.121}}
`;

t.test('wrk output: the summary line done() prints', async (t) => {
  const summary = parseWrkOutput(WRK_OUTPUT);
  t.same(summary, {
    seconds: 0.400577,
    requests: 7160,
    bytes: 1184980,
    errors: { connect: 0, read: 2, write: 0, status: 3580, timeout: 1 },
    latencyUs: { p50: 134, p90: 1626, p99: 7788, p999: 12770, max: 14554, mean: 632.121 },
  });
  const result = wrkResult(summary, { cpuSeconds: 0.5, rssBytes: 1, peakRssBytes: 1, processes: 1 });
  t.equal(result.generator, 'wrk');
  t.equal(result.ok, 3580, 'responses of 400 and above are not successes');
  t.same(result.statusCounts, { '<400': 3580, '>=400': 3580 });
  t.equal(result.errors, 3, 'socket errors and timeouts');
  t.same(result.latencyMs, { p50: 134 / 1000, p90: 1626 / 1000, p99: 7788 / 1000, p999: 12770 / 1000, max: 14554 / 1000, mean: 632.121 / 1000 }, 'milliseconds');
  const m = toMeasurement(1, result, false);
  t.equal(m.rps, 3580 / 0.400577, 'req/s over wrk\'s own duration, successes only');
  t.equal(m.errors, 3580 + 3, 'errors: the other responses plus socket errors and timeouts');
  t.equal(m.cpuPer1k, (0.5 / 3580) * 1000, 'CPU per 1,000 successful requests');
  t.equal(m.latencyHistogram, undefined, 'wrk gives percentiles, not a histogram');

  t.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n'), /no summary line: unable to connect/);
  t.throws(() => parseWrkOutput(`${WRK_MARKER}{"durationUs":`), /not JSON/);
  t.throws(() => parseWrkOutput(WRK_OUTPUT.replace('"requests":7160', '"requests":-1')), /requests is not a count/);
  t.throws(() => parseWrkOutput(WRK_OUTPUT.replace('7160 requests in', '7161 requests in')), /7161 requests printed/);
  t.throws(() => parseWrkOutput(WRK_OUTPUT.replace('Non-2xx or 3xx responses: 3580\n', '')), /0 non-2xx responses printed/);
  const quiet = `${WRK_MARKER}{"durationUs":1000000,"requests":0,"bytes":0,"errors":{"connect":50,"read":0,"write":0,"status":0,"timeout":0},"latencyUs":{"p50":0,"p90":0,"p99":0,"p999":0,"max":0,"mean":0}}\n`;
  const none = wrkResult(parseWrkOutput(quiet), undefined);
  t.equal(none.latencyMs, undefined, 'no latency without responses');
  t.equal(toMeasurement(1, none, false).cpuPer1k, undefined, 'no CPU per request without requests');
});

t.test('wrk scripts per scenario', async (t) => {
  const script = (name: string) => wrkScript(scenarioByName(name).http!, 'k-');
  t.match(script('get64'), /^wrk\.method = "GET"$/m);
  t.notMatch(script('get64'), /function request\(/, 'a static request: wrk sends its prebuilt buffer');
  t.match(script('post16k'), /^wrk\.method = "POST"$/m);
  t.match(script('post16k'), /^wrk\.body = string\.rep\("p", 16384\)$/m);
  t.match(script('newconn'), /^wrk\.headers\["Connection"\] = "close"$/m);
  t.notMatch(script('get64'), /Connection/);
  const vhosts = script('vhosts');
  t.equal(vhosts.match(/"h\d+\.bench\.test"/g)?.length, VIRTUAL_HOSTS, 'every virtual host');
  t.match(vhosts, /function request\(/);
  t.match(script('retry'), new RegExp(`\\["${ATTEMPT_HEADER}"\\] = "k-" \\.\\. \\(thread_id or 0\\)`));
  t.throws(() => wrkScript(scenarioByName('rate1k').http!, 'k-'), /fixed rate/);
  for (const name of ['get64', 'post16k', 'retry']) t.match(script(name), /function done\(summary, latency, requests\)/);
  const args = wrkArgs('http://127.0.0.1:1/64', 50, 2.5, '/tmp/s.lua');
  t.same(args.slice(0, 4), ['--threads', '1', '--connections', '50']);
  t.ok(args.includes('--latency'));
  t.equal(args.at(-1), 'http://127.0.0.1:1/64');
});

t.test('wrk runs the scripts as meant', { skip: WRK ? false : 'wrk not installed' }, async (t) => {
  // Per connection: the requests seen, methods, body sizes and attempt keys.
  const seen = { requests: 0, connections: 0, keyed: 0, methods: new Set<string>(), bodies: new Set<number>(), keys: new Set<string>() };
  const tried = new Set<string>();
  const server = http.createServer((req, res) => {
    seen.requests++;
    seen.methods.add(req.method ?? '');
    let length = 0;
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => {
      seen.bodies.add(length);
      const key = req.headers[ATTEMPT_HEADER];
      if (typeof key === 'string') {
        seen.keyed++;
        seen.keys.add(key);
        if (!tried.has(key)) {
          tried.add(key);
          res.writeHead(503, { 'content-length': 0 }).end();
          return;
        }
      }
      res.writeHead(200, { 'content-length': 2 }).end('ok');
    });
  });
  server.on('connection', () => seen.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-wrk-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = async (name: string, seconds: number) => {
    const scriptFile = path.join(dir, `${name}.lua`);
    const load = scenarioByName(name).http!;
    fs.writeFileSync(scriptFile, wrkScript(load, `${name}-`));
    seen.requests = 0;
    seen.connections = 0;
    seen.keyed = 0;
    seen.methods.clear();
    seen.bodies.clear();
    seen.keys.clear();
    return (await runWrk({ binary: WRK as string, url: url + load.path, connections: 4, seconds, scriptFile })).summary;
  };

  const post = await run('post16k', 0.4);
  t.ok(post.seconds > 0.3 && post.seconds < 1.5, `stopped by SIGINT after a fraction of a second (${post.seconds} s)`);
  t.ok(post.requests > 0 && post.errors.status === 0, 'POSTs answered 200');
  t.same([...seen.methods], ['POST']);
  t.same([...seen.bodies], [16384], 'every body 16 KiB');

  const newconn = await run('newconn', 0.4);
  t.ok(newconn.requests > 0, 'new-connection requests answered');
  t.ok(seen.connections >= seen.requests - 4, `a connection per request (${seen.connections} for ${seen.requests})`);

  const retry = await run('retry', 0.4);
  t.ok(retry.requests > 0, 'keyed requests answered');
  t.equal(retry.errors.status, retry.requests, 'every first attempt is a 503, a status error');
  // Counted where the key is read: a request still arriving when wrk stopped has no key yet.
  t.equal(seen.keys.size, seen.keyed, 'a unique key per request');
});

t.test('CPU time of a process tree from /proc', async (t) => {
  // comm may hold spaces and parentheses; fields 14-17 are utime, stime, cutime, cstime.
  const stat = '4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 150 25 7 3 20 0 1 0 1234 1000000 100 18446744073709551615';
  t.same(parseStat(stat), { ppid: 17, ticks: 150 + 25 + 7 + 3 });
  t.equal(parseStat('garbage'), undefined);
  const start = { cpuSeconds: 1.25, rssBytes: 10, peakRssBytes: 10, processes: 2 };
  const end = { cpuSeconds: 2, rssBytes: 20, peakRssBytes: 30, processes: 3 };
  t.same(cpuDelta(start, end), { cpuSeconds: 0.75, rssBytes: 20, peakRssBytes: 30, processes: 3 });
  t.equal(cpuPer1k(0.75, 1500), 0.5);
  t.equal(cpuPer1k(0.75, 0), undefined);

  // A parent (like nginx's master or Legate's primary) whose child burns CPU, then exits and is
  // reaped: its time must count, first as the child's own, then as the parent's cutime/cstime.
  const program = `
    const { spawn } = require('node:child_process');
    const burn = 'process.stdin.once("data", () => { const from = process.cpuUsage(); let x = 0; ' +
      'while (true) { x++; if ((x & 0xffff) === 0) { const d = process.cpuUsage(from); if (d.user + d.system >= 400000) break; } } process.exit(0); })';
    const worker = spawn(process.execPath, ['-e', burn], { stdio: ['pipe', 'ignore', 'ignore'] });
    process.send('up');
    process.on('message', () => worker.stdin.write('go'));
    worker.on('exit', () => process.send('reaped'));
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  t.teardown(() => parent.kill('SIGKILL'));
  await once(parent, 'message');
  await new Promise((resolve) => setTimeout(resolve, 200)); // let the worker start
  const before = sampleProcesses([parent.pid as number]);
  t.equal(before.processes, 2, 'parent and worker');
  t.ok(before.rssBytes > 0);
  parent.send('go');
  await once(parent, 'message'); // 'reaped'
  const after = sampleProcesses([parent.pid as number]);
  t.equal(after.processes, 1, 'the worker is gone');
  const spent = cpuDelta(before, after).cpuSeconds;
  t.ok(spent >= 0.3, `the worker's 0.4 s of CPU still counts after it exited (${spent} s)`);
  t.same(sampleProcesses([2 ** 22 + 1]), { cpuSeconds: 0, rssBytes: 0, peakRssBytes: 0, processes: 0 }, 'a pid that is gone');
});

t.test('ratios are taken within each round, then the median', async (t) => {
  const scenario = scenarioByName('get64');
  const measurement = (round: number, rps: number, cpu?: number): Measurement =>
    ({ round, generator: 'wrk', seconds: 1, requests: rps, ok: rps, rps, bytes: 0, mibps: 0, statusCounts: {}, errors: 0, cpuPer1k: cpu }) as Measurement;
  const cell = (target: string, ms: Measurement[]): Cell => ({ scenario: 'get64', target, status: 'ok', measurements: ms, failures: [] });
  const cells = [
    cell('legate-1', [measurement(1, 100, 0.1), measurement(2, 200, 0.2), measurement(3, 300, 0.3)]),
    // A busier round 2 slows everyone: round by round, legate-1 is 2x, 0.5x and 1x of nginx.
    cell('nginx', [measurement(1, 50), measurement(2, 400), measurement(3, 300)]),
    cell('naive-node', [measurement(1, 50), measurement(3, 100)]), // round 2 failed
    cell('l4-pipe', []),
  ];
  const [legate, nginx] = summarize(cells, [scenario]);
  t.same(legate.ratios.nginx, { median: 1, min: 0.5, max: 2 }, 'median of per-round ratios, not the ratio of medians (200/300)');
  t.same(legate.ratios['naive-node'], { median: 2.5, min: 2, max: 3 }, 'rounds the reference missed are left out');
  t.equal(legate.ratios['l4-pipe'], undefined, 'no ratio to a reference never measured');
  t.equal(nginx.ratios.nginx?.median, 1);
  t.same(legate.cpuPer1k, { median: 0.2, min: 0.1, max: 0.3 });
});

t.test('TLS scenarios: the certificate, the peer configs, who runs them', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const upstream = { http: [7001, 7002, 7003], tcp: 7004 };
  for (const name of ['tls-get64', 'tls-newconn']) {
    const scenario = scenarioByName(name);
    t.equal(scenario.tls, true, `${name} speaks TLS`);
    t.equal(scenario.http?.path, '/64', `${name}: the 64 B response`);
    t.equal(targetUrl(scenario, 8443), 'https://127.0.0.1:8443', `${name}: wrk and autocannon get an https URL`);
    for (const target of ['legate-1', 'nginx', 'haproxy']) t.equal(targetByName(target).notApplicable(scenario), undefined, `${target} runs ${name}`);
    t.match(targetByName('naive-node').notApplicable(scenario), /cannot terminate TLS/);
    t.match(targetByName('direct').notApplicable(scenario), /plain HTTP/);
    t.match(targetByName('l4-pipe').notApplicable(scenario), /plain HTTP/);
  }
  t.equal(scenarioByName('tls-get64').http?.newConnectionPerRequest, undefined, 'tls-get64 keeps its connections');
  t.match(wrkScript(scenarioByName('tls-newconn').http!, 'k-'), /^wrk\.headers\["Connection"\] = "close"$/m);

  const values = { ...peerValues(upstream, scenarioByName('tls-get64'), 8443, dir), admin_port: 9901, virtual_hosts: '' };
  const legate = renderPeerConfig('legate/tls.yaml', values);
  t.match(legate, /name: envoy\.transport_sockets\.tls/);
  t.match(legate, /"@type": type\.googleapis\.com\/envoy\.extensions\.transport_sockets\.tls\.v3\.DownstreamTlsContext/);
  t.match(legate, `certificate_chain: { filename: "${path.join(dir, 'tls-cert.pem')}" }`);
  t.match(legate, `private_key: { filename: "${path.join(dir, 'tls-key.pem')}" }`);
  t.match(legate, /socket_address: \{ address: 127\.0\.0\.1, port_value: 7001 \}/, 'plain HTTP to the get64 upstream');
  const nginx = renderPeerConfig('nginx/tls.conf', values);
  t.match(nginx, /^\s*listen 127\.0\.0\.1:8443 ssl;$/m);
  t.match(nginx, `ssl_certificate ${path.join(dir, 'tls-cert.pem')};`);
  t.match(nginx, `ssl_certificate_key ${path.join(dir, 'tls-key.pem')};`);
  t.match(nginx, /^\s*ssl_protocols TLSv1\.2 TLSv1\.3;$/m, 'nginx 1.22 negotiates TLS 1.3 as the others do');
  t.match(nginx, /proxy_pass http:\/\/app;/);
  const haproxy = renderPeerConfig('haproxy/tls.cfg', values);
  t.match(haproxy, `bind 127.0.0.1:8443 ssl crt ${path.join(dir, 'tls-cert-key.pem')}`);
  t.match(haproxy, /server s1 127\.0\.0\.1:7001$/m);

  if (opensslUnavailable()) return;
  const made = makeBenchCertificate(dir);
  const text = execFileSync('openssl', ['x509', '-in', made.certFile, '-noout', '-text'], { encoding: 'utf8' });
  t.match(text, /prime256v1|P-256/, 'an ECDSA P-256 certificate');
  t.match(text, /DNS:localhost, IP Address:127\.0\.0\.1/);
  const combined = fs.readFileSync(made.combinedFile, 'utf8');
  t.ok(combined.includes(fs.readFileSync(made.certFile, 'utf8')) && combined.includes(fs.readFileSync(made.keyFile, 'utf8')), 'HAProxy gets certificate and key in one file');
});

t.test('a 1-second TLS run through Legate', { skip: LEGATE && !opensslUnavailable() ? false : 'needs proxy/cli.ts and openssl' }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const args = ['--duration', '1', '--warmup', '0.2', '--rounds', '1', '--scenarios', 'tls-get64,tls-newconn', '--targets', 'direct,node-https,legate-1', '--out', out];
  const exit = await runBench(args, 90_000, (fn) => t.teardown(fn));
  t.equal(exit.code, 0, `bench exits 0: ${exit.stderr.slice(-2000)}`);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'));
  for (const scenario of ['tls-get64', 'tls-newconn']) {
    const cell = (target: string) => report.cells.find((c: Row) => c.scenario === scenario && c.target === target);
    t.equal(cell('direct').status, 'n/a', `${scenario}: no direct row`);
    for (const target of ['node-https', 'legate-1']) {
      const row = cell(target);
      t.equal(row.status, 'ok', `${scenario} through ${target}: ${row.reason ?? ''}`);
      const [m] = row.measurements;
      t.ok(m?.requests > 0, `${scenario} through ${target}: responses over HTTPS`);
      t.equal(m?.errors, 0, `${scenario} through ${target}: no errors`);
    }
  }
});

// Real output of `h2load -t1 -c 50 -m 10 -D 1500ms` against an nginx that closed each connection
// after 1000 requests (its keepalive_requests default): h2load does not reconnect, and the streams
// in flight on the closed connection fail.
const H2LOAD_FAILING = `starting benchmark...
spawning thread #0: 50 total client(s). Timing-based test with 0s of warm-up time and 1.5s of main duration for measurements.
Application protocol: h2c
Process Request Failure:1
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 1.51s, 33333.33 req/s, 2.26MB/s
requests: 50160 total, 50450 started, 50160 done, 50000 succeeded, 160 failed, 160 errored, 0 timeout
status codes: 50000 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 3.39MB (3553300) total, 2.29MB (2400000) headers (space savings 51.02%), 244.14KB (250000) data
                     min         max         mean         sd        +/- sd
time for request:       34us    157.03ms     11.96ms     13.81ms    95.61%
`;
const H2LOAD_OK = H2LOAD_FAILING.replace('Process Request Failure:1\n', '')
  .replace('50160 total, 50450 started, 50160 done, 50000 succeeded, 160 failed, 160 errored', '50000 total, 50500 started, 50000 done, 50000 succeeded, 0 failed, 0 errored')
  .replace('50000 2xx', '50012 2xx');

t.test('h2load: arguments, output, failures, latency', async (t) => {
  t.same(h2loadArgs('http://127.0.0.1:8080/64', 50, 1, 2.5, '/tmp/x.log'), [
    '--threads', '1', '--clients', '50', '--max-concurrent-streams', '10', '--warm-up-time', '1000ms', '--duration', '2500ms',
    '--log-file', '/tmp/x.log', 'http://127.0.0.1:8080/64',
  ]);
  const summary = parseH2loadOutput(H2LOAD_OK);
  t.ok(Math.abs(summary.seconds - 1.5) < 1e-6, 'the duration h2load divided by, not the rounded "finished in"');
  t.same(
    { done: summary.done, succeeded: summary.succeeded, failed: summary.failed, bytes: summary.bytes, protocol: summary.protocol },
    { done: 50000, succeeded: 50000, failed: 0, bytes: 3553300, protocol: 'h2c' },
  );
  checkH2loadSummary(summary, 'h2c');
  t.throws(() => checkH2loadSummary(summary, 'h2'), /protocol h2c, expected h2/);
  t.throws(() => checkH2loadSummary(parseH2loadOutput(H2LOAD_FAILING), 'h2c'), /h2load: 160 failed, 160 errored \(of 50160 done/);
  const non2xx = parseH2loadOutput(H2LOAD_OK.replace('0 3xx, 0 4xx, 0 5xx', '0 3xx, 0 4xx, 7 5xx'));
  t.throws(() => checkH2loadSummary(non2xx, 'h2c'), /status codes 0 3xx, 0 4xx, 7 5xx/);
  t.throws(() => parseH2loadOutput('connect failed\n'), /h2load printed no finished line: connect failed/);

  const latency = latencyFromLog(Array.from({ length: 1000 }, (_, i) => `1796530874358887\t200\t${(1000 - i) * 10}`).join('\n') + '\n');
  t.same(latency, { p50: 5, p90: 9, p99: 9.9, p999: 9.99, max: 10, mean: 5.005 });
  const m = toMeasurement(1, h2loadResult(summary, latency, undefined), false);
  t.ok(Math.abs(m.rps - 33333.33) < 0.01, 'req/s counts succeeded requests, as h2load does');
  t.equal(m.errors, 0, 'headers of unfinished responses in the 2xx count are no error');
  t.equal(m.generator, 'h2load');
});

t.test('HTTP/2 scenarios: the peer configs, who runs them', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-h2-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const upstream = { http: [7001, 7002, 7003], tcp: 7004 };
  const h2c = scenarioByName('h2-get64');
  const h2tls = scenarioByName('h2-tls-get64');
  t.equal(targetUrl(h2c, 8080), 'http://127.0.0.1:8080', 'h2load speaks h2c with prior knowledge to an http URL');
  t.equal(targetUrl(h2tls, 8443), 'https://127.0.0.1:8443', 'and h2 by ALPN to an https one');
  for (const scenario of [h2c, h2tls]) {
    t.equal(scenario.http2, true);
    t.equal(scenario.http?.path, '/64');
    for (const target of ['legate-1', 'nginx', 'haproxy']) t.equal(targetByName(target).notApplicable(scenario), undefined, `${target} runs ${scenario.name}`);
    t.match(targetByName('naive-node').notApplicable(scenario), /cannot serve HTTP\/2/);
    t.match(targetByName('direct').notApplicable(scenario), /HTTP\/1\.1 only/);
    t.match(targetByName('l4-pipe').notApplicable(scenario), /HTTP\/1\.1 only/);
  }

  const values = (scenario: typeof h2c, port: number) => ({ ...peerValues(upstream, scenario, port, dir), admin_port: 9901, virtual_hosts: '' });
  const legateH2c = renderPeerConfig('legate/h2c.yaml', values(h2c, 8080));
  t.match(legateH2c, /^\s*codec_type: HTTP2$/m);
  t.match(legateH2c, /socket_address: \{ address: 127\.0\.0\.1, port_value: 7001 \}/, 'plain HTTP/1.1 upstream');
  t.notMatch(legateH2c, /http2_protocol_options/, 'the cluster stays HTTP/1.1');
  const legateTls = renderPeerConfig('legate/h2-tls.yaml', values(h2tls, 8443));
  t.match(legateTls, /^\s*alpn_protocols: \["h2", "http\/1\.1"\]$/m, 'ALPN offers h2');
  t.match(legateTls, /^\s*codec_type: AUTO$/m);
  t.match(legateTls, `certificate_chain: { filename: "${path.join(dir, 'tls-cert.pem')}" }`);
  t.notMatch(legateTls, /http2_protocol_options/);
  const nginxH2c = renderPeerConfig('nginx/h2c.conf', values(h2c, 8080));
  t.match(nginxH2c, /^\s*listen 127\.0\.0\.1:8080 http2;$/m);
  t.match(nginxH2c, /^\s*keepalive_requests 10000000;$/m, 'no GOAWAY after 1000 requests');
  t.match(nginxH2c, /proxy_pass http:\/\/app;/);
  const nginxTls = renderPeerConfig('nginx/h2-tls.conf', values(h2tls, 8443));
  t.match(nginxTls, /^\s*listen 127\.0\.0\.1:8443 ssl http2;$/m);
  t.match(nginxTls, /^\s*ssl_protocols TLSv1\.2 TLSv1\.3;$/m);
  t.match(renderPeerConfig('haproxy/h2c.cfg', values(h2c, 8080)), /^\s*bind 127\.0\.0\.1:8080 proto h2$/m);
  t.match(renderPeerConfig('haproxy/h2-tls.cfg', values(h2tls, 8443)), `bind 127.0.0.1:8443 ssl crt ${path.join(dir, 'tls-cert-key.pem')} alpn h2,http/1.1`);
});

t.test('a 1-second HTTP/2 run through Legate', { skip: LEGATE && h2loadBinary() ? false : 'needs proxy/cli.ts and h2load (apt-get install nghttp2-client)' }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const scenarios = ['h2-get64', ...(opensslUnavailable() ? [] : ['h2-tls-get64'])];
  const args = ['--duration', '1', '--warmup', '1', '--rounds', '1', '--scenarios', scenarios.join(','), '--targets', 'direct,legate-1', '--out', out];
  const exit = await runBench(args, 120_000, (fn) => t.teardown(fn));
  t.equal(exit.code, 0, `bench exits 0: ${exit.stderr.slice(-2000)}`);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'));
  for (const scenario of scenarios) {
    const cell = (target: string) => report.cells.find((c: Row) => c.scenario === scenario && c.target === target);
    t.equal(cell('direct').status, 'n/a', `${scenario}: no direct row`);
    const legate = cell('legate-1');
    t.equal(legate.status, 'ok', `${scenario} through legate-1: ${legate.reason ?? ''}`);
    const [m] = legate.measurements;
    t.equal(m?.generator, 'h2load');
    t.ok(m?.ok > 0, `${scenario}: responses over HTTP/2`);
    t.equal(m?.errors, 0, `${scenario}: no errors`);
    t.ok(m?.cpuPer1k > 0, `${scenario}: CPU per request`);
    t.ok(m?.latencyMs?.p99 > 0, `${scenario}: latency from h2load's log`);
  }
});
