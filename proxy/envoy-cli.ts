// Envoy's own command line, so that what launches Envoy can launch Legate in its place: Istio's
// pilot-agent runs its ProxyConfig.binaryPath as
//   <binary> -c envoy-rev.json --drain-time-s 45 --drain-strategy immediate
//     --local-address-ip-version v4 --file-flush-interval-msec 1000 --disable-hot-restart
//     --allow-unknown-static-fields [-l warning] [--component-log-level ...] [--config-yaml ...]
//     [--concurrency 2]
// `legate` given Envoy's flags turns them into its own `run` (or `validate` for --mode validate).
// A flag with no meaning for Legate (hot restart, log formats) is accepted when it asks for what
// Legate does anyway, and refused by name when it asks for something Legate cannot do.

// The flags Legate knows. Hot restart's (--base-id, --use-dynamic-base-id, --parent-shutdown-time-s,
// --disable-hot-restart) change nothing without hot restart, which Legate does not have; the
// others are applied, warned about, or refused below. Any other flag is refused by name.
const VALUE_FLAGS = new Set([
  '-c', '--config-path', '--config-yaml', '--mode', '--concurrency', '-l', '--log-level', '--component-log-level',
  '--drain-time-s', '--parent-shutdown-time-s', '--drain-strategy', '--service-cluster', '--service-node', '--service-zone',
  '--file-flush-interval-msec', '--file-flush-min-size-kb', '--local-address-ip-version', '--base-id', '--restart-epoch',
]);
const BOOLEAN_FLAGS = new Set([
  '--disable-hot-restart', '--allow-unknown-static-fields', '--skip-deprecated-logs', '--enable-core-dump', '--use-dynamic-base-id',
]);

/** Whether these arguments are Envoy's (they start with one of its flags) rather than a legate command. */
export function looksLikeEnvoy(args: readonly string[]): boolean {
  const first = args[0];
  return first !== undefined && first !== '--version' && first !== '--help' && (VALUE_FLAGS.has(first) || BOOLEAN_FLAGS.has(first));
}

export interface EnvoyInvocation {
  /** The legate command line: ['run', '-c', file, ...] or ['validate', '-c', file]. */
  args: string[];
  /** Process settings Envoy takes from flags, for the environment (access log flushing). */
  env: Record<string, string>;
  /** Flags accepted that change nothing in Legate, said once each. */
  warnings: string[];
}

export function translateEnvoyArgs(args: readonly string[]): EnvoyInvocation {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUE_FLAGS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new Error(`Envoy flag ${name} needs a value`);
      values.set(name === '--config-path' ? '-c' : name === '--log-level' ? '-l' : name, value);
    } else if (BOOLEAN_FLAGS.has(name)) flags.add(name);
    else throw new Error(`Envoy flag ${arg} is not supported by Legate (see README.md, "Running under Istio")`);
  }
  const warnings: string[] = [];
  for (const flag of ['-l', '--component-log-level']) {
    if (values.has(flag)) warnings.push(`Envoy flag ${flag} ignored: Legate's log has no levels; it says what changes (start-up, config, errors)`);
  }
  if (flags.has('--enable-core-dump')) warnings.push('Envoy flag --enable-core-dump ignored: core dumps are the system\'s setting for a Node process');
  if (values.has('--file-flush-min-size-kb')) warnings.push('Envoy flag --file-flush-min-size-kb ignored: Legate writes access logs at 64 KiB or at the flush interval');
  const epoch = values.get('--restart-epoch');
  if (epoch !== undefined && epoch !== '0') throw new Error('Envoy\'s hot restart (--restart-epoch above 0) is not supported by Legate');
  const strategy = values.get('--drain-strategy');
  // Legate tells clients at once when it drains (connection: close, GOAWAY): Envoy's immediate.
  if (strategy !== undefined && strategy !== 'immediate') throw new Error(`Envoy flag --drain-strategy ${strategy} is not supported by Legate (it drains immediately)`);
  const ipVersion = values.get('--local-address-ip-version');
  if (ipVersion !== undefined && ipVersion !== 'v4' && ipVersion !== 'v6') throw new Error(`--local-address-ip-version must be v4 or v6, not ${ipVersion}`);
  // Envoy's server address (what it reports as its own); Legate's come from each socket.
  if (ipVersion === 'v6') warnings.push('Envoy flag --local-address-ip-version v6 ignored: Legate takes local addresses from its sockets');

  const mode = values.get('--mode') ?? 'serve';
  if (mode !== 'serve' && mode !== 'validate' && mode !== 'init_only') throw new Error(`Envoy flag --mode ${mode} is not supported by Legate`);
  const config = values.get('-c');
  const yaml = values.get('--config-yaml');
  if (config === undefined) throw new Error(yaml === undefined ? 'Envoy needs -c (or --config-path)' : 'Legate needs -c FILE; --config-yaml is merged over it');
  const out = [mode === 'serve' ? 'run' : 'validate', '-c', config];
  // --service-node / -cluster / -zone override the bootstrap's node, as in Envoy.
  const node: Record<string, unknown> = {};
  if (values.has('--service-node')) node.id = values.get('--service-node');
  if (values.has('--service-cluster')) node.cluster = values.get('--service-cluster');
  if (values.has('--service-zone')) node.locality = { zone: values.get('--service-zone') };
  const overlays: string[] = [];
  if (yaml !== undefined) overlays.push(yaml);
  if (Object.keys(node).length > 0) overlays.push(JSON.stringify({ node }));
  for (const overlay of overlays) out.push('--config-yaml', overlay);
  if (flags.has('--allow-unknown-static-fields')) out.push('--allow-unknown-static-fields');
  if (mode === 'serve') {
    const concurrency = values.get('--concurrency');
    if (concurrency !== undefined) out.push('--workers', concurrency);
    const drain = values.get('--drain-time-s');
    if (drain !== undefined) out.push('--drain-time-s', drain);
  }
  const env: Record<string, string> = {};
  const flush = values.get('--file-flush-interval-msec');
  if (flush !== undefined) env.LEGATE_FILE_FLUSH_INTERVAL_MS = flush;
  return { args: out, env, warnings };
}
