// `legate demo` (behind `npm start`): the two demo apps and Legate on examples/demo.yaml, with a
// few lines on what to try. Ctrl-C drains and stops everything.
import { fileURLToPath } from 'node:url';
import { Primary } from '../server/index.ts';
import { startDemoApp, type DemoApp } from './apps.ts';

export const DEMO_CONFIG = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url));

export async function runDemo(opts: { workers: number; appsOnly?: boolean; log(line: string): void }): Promise<void> {
  const apps: DemoApp[] = [await startDemoApp('blue', 18081), await startDemoApp('green', 18082)];
  opts.log('demo apps: blue on 127.0.0.1:18081, green on 127.0.0.1:18082');
  const stopApps = () => Promise.all(apps.map((a) => a.close()));
  if (opts.appsOnly) {
    process.once('SIGINT', () => void stopApps().then(() => process.exit(0)));
    process.once('SIGTERM', () => void stopApps().then(() => process.exit(0)));
    return;
  }
  const primary = new Primary({ configPath: DEMO_CONFIG, workers: opts.workers, mode: 'ingress', drainTimeMs: 2000, reusePort: true, log: opts.log });
  try {
    await primary.start();
  } catch (err) {
    await stopApps();
    throw err;
  }
  console.log(
    [
      '',
      'Legate is running the demo (examples/demo.yaml):',
      '  curl -s localhost:10000/            # 80 % app blue, 20 % app green',
      '  curl -s localhost:10000/hello       # a direct response',
      '  curl -s localhost:9901/stats | grep upstream_rq_total',
      '  curl -s localhost:9901/clusters     # hosts, weights, health',
      '  admin: http://127.0.0.1:9901/ (live dashboard: http://127.0.0.1:9901/dashboard)',
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  const stop = () => {
    opts.log('stopping the demo');
    void primary.shutdown().then(stopApps).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
