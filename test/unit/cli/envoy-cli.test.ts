// Envoy's command line as pilot-agent writes it, turned into Legate's: what applies, what is
// warned about, and what is refused by name.
import t from 'tap';
import { looksLikeEnvoy, translateEnvoyArgs } from '../../../proxy/envoy-cli.ts';

// pkg/envoy/proxy.go's args() for a sidecar, with a log level, an override and a concurrency.
const PILOT_AGENT = [
  '-c', 'etc/istio/proxy/envoy-rev.json', '--drain-time-s', '45', '--drain-strategy', 'immediate',
  '--local-address-ip-version', 'v4', '--file-flush-interval-msec', '1000', '--disable-hot-restart',
  '--allow-unknown-static-fields', '-l', 'warning', '--component-log-level', 'misc:error',
  '--config-yaml', '{"stats_config":{}}', '--concurrency', '2',
];

t.test("pilot-agent's flags become legate run", async (t) => {
  t.ok(looksLikeEnvoy(PILOT_AGENT));
  t.notOk(looksLikeEnvoy(['run', '-c', 'x.yaml']), 'a legate command is not Envoy\'s');
  t.notOk(looksLikeEnvoy(['--version']));
  const envoy = translateEnvoyArgs(PILOT_AGENT);
  t.same(envoy.args, [
    'run', '-c', 'etc/istio/proxy/envoy-rev.json', '--config-yaml', '{"stats_config":{}}', '--allow-unknown-static-fields',
    '--workers', '2', '--drain-time-s', '45',
  ]);
  t.same(envoy.env, { LEGATE_FILE_FLUSH_INTERVAL_MS: '1000' });
  t.same(envoy.warnings.map((w) => w.split(' ')[2]), ['-l', '--component-log-level'], 'log levels are said to do nothing');
});

t.test('--mode validate, --config-path=, and the node flags', async (t) => {
  const envoy = translateEnvoyArgs(['--mode', 'validate', '--config-path=b.yaml', '--service-node', 'n1', '--service-cluster', 'c1', '--service-zone', 'z1']);
  t.same(envoy.args, ['validate', '-c', 'b.yaml', '--config-yaml', JSON.stringify({ node: { id: 'n1', cluster: 'c1', locality: { zone: 'z1' } } })]);
});

t.test('what Legate cannot do is refused by name', async (t) => {
  t.throws(() => translateEnvoyArgs(['-c', 'b.yaml', '--restart-epoch', '1']), /hot restart/);
  t.throws(() => translateEnvoyArgs(['-c', 'b.yaml', '--drain-strategy', 'gradual']), /--drain-strategy gradual is not supported by Legate/);
  t.throws(() => translateEnvoyArgs(['-c', 'b.yaml', '--log-path', '/tmp/x']), /--log-path is not supported by Legate/);
  t.throws(() => translateEnvoyArgs(['--config-yaml', '{}']), /needs -c FILE/);
  t.throws(() => translateEnvoyArgs(['-c']), /needs a value/);
});
