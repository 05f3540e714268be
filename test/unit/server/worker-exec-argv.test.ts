// The Node flags a forked worker starts with: Legate's cap on V8's young generation and pretenuring
// off, unless the user set them, on the command line or in NODE_OPTIONS (either spelling), and the
// primary's own flags kept as they are.
import t from 'tap';
import { WORKER_SEMI_SPACE_MB, workerExecArgv } from '../../../proxy/server/v8-flags.ts';

const CAP = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`;
const NP = '--no-allocation-site-pretenuring';

t.test('the young generation is capped by default, the primary\'s flags kept', async (t) => {
  t.same(workerExecArgv([]), [CAP, NP]);
  t.same(workerExecArgv(['--enable-source-maps', '--max-old-space-size=512'], '--trace-warnings'), [CAP, NP, '--enable-source-maps', '--max-old-space-size=512']);
});

t.test('a semi-space size the user gave wins', async (t) => {
  t.same(workerExecArgv(['--max-semi-space-size=64']), [NP, '--max-semi-space-size=64']);
  t.same(workerExecArgv(['--max_semi_space_size', '2']), [NP, '--max_semi_space_size', '2']);
  t.same(workerExecArgv([], '--import x.js --max-semi-space-size=32'), [NP], 'from NODE_OPTIONS (the worker inherits it)');
  t.same(workerExecArgv([], '  --max_semi_space_size=4  '), [NP]);
});

t.test('pretenuring is off unless the user set it either way', async (t) => {
  t.same(workerExecArgv(['--allocation-site-pretenuring']), [CAP, '--allocation-site-pretenuring']);
  t.same(workerExecArgv(['--no_allocation_site_pretenuring']), [CAP, '--no_allocation_site_pretenuring']);
  t.same(workerExecArgv(['--allocation-site-pretenuring-x']), [CAP, NP, '--allocation-site-pretenuring-x'], 'another flag is not this one');
});
