// The `legate` command line: run, validate, explain, demo, iptables. A user error is one line on stderr
// and a non-zero exit; never a stack trace (LEGATE_DEBUG=1 shows it).
// Each command imports what it runs when it runs (config, server, demo), after main() has turned
// on Node's compile cache, so the modules worker processes load are cached for them.
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { registerIptablesCommand } from '../iptables/index.ts';
import type { BootstrapOptions } from './config/index.ts';
import { looksLikeEnvoy, translateEnvoyArgs } from './envoy-cli.ts';
import type { Primary } from './server/index.ts';
import { enableCompileCache } from './server/compile-cache.ts';
import { applyProcessDefaults } from './server/v8-flags.ts';
import { idOrName } from './server/privileges.ts';
import { LEGATE_VERSION } from './admin/version.ts';

const log = (line: string) => console.error(`legate: ${line}`);

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds');
  return n;
}

const collect = (value: string, list: string[]) => [...list, value];

interface BootstrapFlags {
  configYaml: string[];
  allowUnknownStaticFields?: boolean;
}

async function bootstrapOptions(opts: BootstrapFlags): Promise<BootstrapOptions> {
  const { parseConfigText } = await import('./config/index.ts');
  return { overlays: opts.configYaml.map((text) => parseConfigText(text, '--config-yaml').raw as Record<string, unknown>), allowUnknownFields: opts.allowUnknownStaticFields === true };
}

export function buildProgram(): Command {
  const program = new Command('legate')
    .description('An Envoy-compatible data-plane proxy: ingress router and sidecar, configured by Envoy v3 bootstrap files and xDS')
    .version(LEGATE_VERSION)
    .showHelpAfterError();

  program
    .command('run')
    .description('run the proxy from an Envoy v3 bootstrap file (YAML or JSON)')
    .requiredOption('-c, --config <file>', 'Envoy v3 bootstrap file')
    .option('--config-yaml <yaml>', 'YAML or JSON merged over the bootstrap file, as Envoy\'s --config-yaml (repeatable)', collect, [] as string[])
    .option('--allow-unknown-static-fields', 'as Envoy: unknown fields in the bootstrap are warned about and dropped instead of refused')
    .option('--workers <n>', 'worker processes (1 runs everything in one process)', positiveInt, availableParallelism())
    .addOption(
      new Option('--mode <mode>', 'ingress router or sidecar (sidecar: Istio\'s listeners on 15001/15006 if the bootstrap has none, admin on 127.0.0.1:15000, routes retry 5xx three times)')
        .choices(['ingress', 'sidecar'])
        .default('ingress'),
    )
    .option('--drain-time-s <seconds>', 'how long requests in flight may take to finish on shutdown (Envoy: 600)', seconds, 30)
    .option('--no-reuse-port', 'share one listening socket across workers instead of one SO_REUSEPORT socket each')
    .option('--spare-worker', 'keep a started worker process in reserve, so a worker that dies is replaced within milliseconds rather than a Node start-up (costs one more process)')
    .option('--uid <user>', 'started as root: serve as this user (id or name) once listeners are bound, e.g. the --proxy-uid of `legate iptables apply`', idOrName)
    .option('--gid <group>', 'with --uid: serve as this group (default: the --uid value)', idOrName)
    .action(async (opts: BootstrapFlags & { config: string; workers: number; mode: 'ingress' | 'sidecar'; drainTimeS: number; reusePort: boolean; spareWorker?: boolean; uid?: number | string; gid?: number | string }) => {
      if (opts.gid !== undefined && opts.uid === undefined) throw new Error('--gid needs --uid');
      const runAs = opts.uid === undefined ? undefined : { uid: opts.uid, gid: opts.gid ?? opts.uid };
      const { Primary } = await import('./server/index.ts');
      const primary = new Primary({
        configPath: opts.config, workers: opts.workers, mode: opts.mode, drainTimeMs: opts.drainTimeS * 1000, reusePort: opts.reusePort, spareWorker: opts.spareWorker === true,
        runAs, log, bootstrap: await bootstrapOptions(opts),
      });
      await primary.start();
      const bound = primary.applied?.listeners ?? [];
      for (const l of bound) log(`listener '${l.name}' on ${l.internal === true ? l.address : `${l.address}:${l.port}`}`);
      const admin = primary.admin?.address();
      if (admin !== undefined) log(`admin on http://${admin.address}:${admin.port}/`);
      log(`serving with ${opts.workers} worker${opts.workers === 1 ? '' : 's'} (${opts.mode} mode${runAs === undefined ? '' : `, as uid ${process.getuid!()} gid ${process.getgid!()}`})`);
      installSignals(primary);
    });

  program
    .command('validate')
    .description('check a bootstrap file and exit non-zero with one line per problem')
    .requiredOption('-c, --config <file>', 'Envoy v3 bootstrap file')
    .option('--config-yaml <yaml>', 'YAML or JSON merged over the bootstrap file, as Envoy\'s --config-yaml (repeatable)', collect, [] as string[])
    .option('--allow-unknown-static-fields', 'as Envoy: unknown fields in the bootstrap are warned about and dropped instead of refused')
    .action(async (opts: BootstrapFlags & { config: string }) => {
      const { loadBootstrap } = await import('./config/index.ts');
      const boot = loadBootstrap(opts.config, await bootstrapOptions(opts));
      if (boot.rateLimitService !== undefined) (await import('./ratelimit/index.ts')).checkRateLimitService(boot.rateLimitService);
      for (const w of boot.warnings) log(`warning: ${w}`);
      const { checkConfigFiles } = await import('./server/config-files.ts');
      const files = checkConfigFiles(boot);
      if (files.problems.length > 0) {
        for (const problem of files.problems) console.error(`legate: ${problem}`);
        process.exit(1);
      }
      const fromFiles = files.listeners + files.clusters > 0 ? `; from files: ${files.listeners} listeners, ${files.clusters} clusters` : '';
      console.log(`${opts.config}: OK (${boot.listeners.length} listeners, ${boot.clusters.length} clusters, ${Object.keys(boot.routeConfigs).length} route configs${fromFiles})`);
    });

  program
    .command('demo')
    .description('start two local upstream apps and Legate on examples/demo.yaml')
    .option('--workers <n>', 'worker processes', positiveInt, 1)
    .option('--apps-only', 'start only the two demo apps (then: legate run -c examples/demo.yaml)')
    .action(async (opts: { workers: number; appsOnly?: boolean }) => {
      const { runDemo } = await import('./demo/index.ts');
      await runDemo({ workers: opts.workers, appsOnly: opts.appsOnly, log });
    });

  program
    .command('explain')
    .description('show what Legate would do with one request, without sending it: listener, filter chain, route, action, hosts')
    .argument('<url>', 'the request\'s URL, e.g. http://example.com:8080/api?x=1')
    .option('-c, --config <file>', 'explain against this bootstrap file (hosts as configured)')
    .option('--admin <host:port>', 'explain against a running Legate\'s admin (live host health)')
    .option('-X, --request <method>', 'the request method', 'GET')
    .option('-H, --header <header>', 'a request header, \'name: value\' (repeatable)', collect, [] as string[])
    .option('--listener <name>', 'the listener to explain on (default: the one on the URL\'s port)')
    .option('--source <addr>', 'the client\'s address, IP or IP:port', '127.0.0.1')
    .option('--json', 'print the explanation as JSON')
    .addOption(new Option('--mode <mode>', 'with -c: as `legate run --mode` serves it (sidecar: Istio\'s catch-all listeners, routes retry 5xx three times)').choices(['ingress', 'sidecar']).default('ingress'))
    .action(async (url: string, opts: { config?: string; admin?: string; request: string; header: string[]; listener?: string; source: string; json?: boolean; mode: 'ingress' | 'sidecar' }) => {
      if ((opts.config === undefined) === (opts.admin === undefined)) throw new Error('explain needs one of -c FILE or --admin HOST:PORT');
      const { explainRequest } = await import('./explain/cli.ts');
      const sidecar = opts.mode === 'sidecar' ? (await import('./server/sidecar.ts')).withSidecarDefaults : undefined;
      process.stdout.write(await explainRequest(url, { ...opts, sidecar: sidecar === undefined ? undefined : (boot) => sidecar(boot).boot }));
    });

  registerIptablesCommand(program);
  return program;
}

function installSignals(primary: Primary): void {
  const stop = (signal: string) => {
    log(`${signal}: draining (up to ${primary.options.drainTimeMs / 1000}s), then exiting`);
    void primary.shutdown().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void primary.reload());
}

export async function main(argv: string[]): Promise<void> {
  enableCompileCache();
  applyProcessDefaults(); // before start-up allocates (server/v8-flags.ts)
  try {
    // Launched as Envoy is (Istio's pilot-agent with binaryPath pointing here): Envoy's flags.
    if (looksLikeEnvoy(argv.slice(2))) {
      const envoy = translateEnvoyArgs(argv.slice(2));
      for (const warning of envoy.warnings) log(`warning: ${warning}`);
      Object.assign(process.env, envoy.env);
      argv = [...argv.slice(0, 2), ...envoy.args];
    }
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const e = err as Error;
    console.error(`legate: ${process.env.LEGATE_DEBUG ? e.stack : e.message}`);
    process.exit(1);
  }
}

if (import.meta.main) await main(process.argv);
