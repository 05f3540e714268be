// `legate` launched with Envoy's flags, as Istio's pilot-agent launches its proxy binary: the
// bootstrap file with --config-yaml merged over it, --allow-unknown-static-fields, Envoy's
// --mode validate; the same file without the flag is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, httpListener, routes } from '../../support/bootstrap.ts';
import { runCli } from '../../support/legate-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-envoy-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'envoy-rev.json');
// A field a newer Envoy has and this proto set lacks, as pilot-agent's template may carry.
writeFileSync(file, JSON.stringify({ ...bootstrap([httpListener('l', routes([{ match: { prefix: '/' }, direct_response: { status: 200 } }]))], []), no_such_field_yet: true }));

t.test('--mode validate with pilot-agent\'s flags', async (t) => {
  const ok = await runCli(['--mode', 'validate', '-c', file, '--allow-unknown-static-fields', '--disable-hot-restart', '-l', 'warning',
    '--config-yaml', JSON.stringify({ node: { id: 'from-override' } })]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /OK \(1 listeners/);
  t.match(ok.stderr, /unknown field 'no_such_field_yet' in envoy\.config\.bootstrap\.v3\.Bootstrap ignored \(--allow-unknown-static-fields\)/);
  t.match(ok.stderr, /warning: Envoy flag -l ignored/);

  const strict = await runCli(['--mode', 'validate', '-c', file]);
  t.equal(strict.code, 1, 'without --allow-unknown-static-fields the field is refused');
  t.match(strict.stderr, /unknown field 'no_such_field_yet'/);

  const merged = await runCli(['--mode', 'validate', '-c', file, '--allow-unknown-static-fields', '--config-yaml', JSON.stringify({ static_resources: { clusters: [{ name: 'extra', type: 'STATIC' }] } })]);
  t.equal(merged.code, 0, merged.stderr);
  t.match(merged.stdout, /1 listeners, 1 clusters/, '--config-yaml appends to the file\'s lists, as MergeFrom');

  const refused = await runCli(['-c', file, '--restart-epoch', '2']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^legate: Envoy's hot restart \(--restart-epoch above 0\) is not supported by Legate/m);
});
