// Idle memory of `legate run` (bin/legate.js, as users run it) per process: RSS, PSS and anonymous
// memory from /proc/PID/smaps_rollup, 5 s after it served its first request. Two runs; the second
// is printed (the first may strip TypeScript and fill the compile cache).
//   node bench/idle-memory.ts [--bootstrap static|ads] [--workers 2] [--spare-worker]
// static: one HTTP listener and one cluster; ads: LDS/CDS/RDS/EDS from test/support's management
// server. The figures go in proxy/server/README.md (Memory).
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'undici';
import { CommandLine } from './command-line.ts';
import { bootstrap, httpListener, routes, staticCluster } from '../test/support/bootstrap.ts';
import { spawnLegate } from '../test/support/legate-process.ts';
import { startUpstream } from '../test/support/upstream.ts';
import { XdsServer } from '../test/support/xds-server.ts';
import { adsBootstrap, setBasicConfig } from '../test/support/xds-proxy.ts';

const cli = new CommandLine('idle-memory', 'usage: node bench/idle-memory.ts [--bootstrap static|ads] [--workers N] [--spare-worker]');
const values = cli.parse({ bootstrap: { type: 'string', default: 'static' }, workers: { type: 'string', default: '2' }, 'spare-worker': { type: 'boolean', default: false } });
if (values.bootstrap !== 'static' && values.bootstrap !== 'ads') cli.fail(`--bootstrap must be static or ads, not '${values.bootstrap}'`);
cli.number('workers', values.workers, 1);

function figures(pid: number): string {
  const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const mb = (key: string) => (Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0) / 1024).toFixed(1);
  return `RSS ${mb('Rss')} MB, PSS ${mb('Pss')} MB, anonymous ${mb('Anonymous')} MB`;
}

function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}

const app = await startUpstream('app');
let server: XdsServer | undefined;
let config: object;
let listener: string;
if (values.bootstrap === 'ads') {
  server = new XdsServer();
  await server.start();
  setBasicConfig(server, [app.port]);
  config = adsBootstrap(server.port);
  listener = 'http';
} else {
  config = bootstrap([httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]))], [staticCluster('app', [{ port: app.port }])]);
  listener = 'ingress';
}
const { NODE_OPTIONS: _hooks, ...env } = process.env; // a test runner's hooks would load into legate
const args = ['--workers', values.workers, ...(values['spare-worker'] ? ['--spare-worker'] : [])];
try {
  for (let run = 0; run < 2; run++) {
    const legate = await spawnLegate(config, args, { entry: 'bin', env });
    try {
      // An ADS listener binds when the management server's config arrives: poll (bounded) until served.
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await request(legate.url('/', listener)).then(async (r) => (await r.body.text(), r.statusCode), () => 0);
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 5000));
      if (run === 1) {
        const primary = legate.child.pid!;
        console.log(`${values.bootstrap}, ${args.join(' ')}, first request ${status}`);
        console.log(`  primary: ${figures(primary)}`);
        for (const child of childrenOf(primary)) console.log(`  child ${child}: ${figures(child)}`);
      }
    } finally {
      await legate.stop('SIGTERM');
    }
  }
} finally {
  await server?.stop();
  app.close();
}
