// The Node flags a forked worker starts with: Legate's cap on V8's young generation, pretenuring
// off and TurboFan after fewer calls, unless the user set them, on the command line or in
// NODE_OPTIONS (either spelling), and the primary's own flags kept as they are.
import t from 'tap';
import { TURBOFAN_AFTER_CALLS, WORKER_SEMI_SPACE_MB, workerExecArgv } from '../../../proxy/server/v8-flags.ts';

const CAP = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`;
const NP = '--no-allocation-site-pretenuring';
const TF = `--invocation-count-for-turbofan=${TURBOFAN_AFTER_CALLS}`;

t.test('the young generation is capped by default, the primary\'s flags kept', async (t) => {
  t.same(workerExecArgv([]), [CAP, NP, TF]);
  t.same(workerExecArgv(['--enable-source-maps', '--max-old-space-size=512'], '--trace-warnings'), [CAP, NP, TF, '--enable-source-maps', '--max-old-space-size=512']);
});

t.test('a semi-space size the user gave wins', async (t) => {
  t.same(workerExecArgv(['--max-semi-space-size=64']), [NP, TF, '--max-semi-space-size=64']);
  t.same(workerExecArgv(['--max_semi_space_size', '2']), [NP, TF, '--max_semi_space_size', '2']);
  t.same(workerExecArgv([], '--import x.js --max-semi-space-size=32'), [NP, TF], 'from NODE_OPTIONS (the worker inherits it)');
  t.same(workerExecArgv([], '  --max_semi_space_size=4  '), [NP, TF]);
});

t.test('pretenuring is off unless the user set it either way', async (t) => {
  t.same(workerExecArgv(['--allocation-site-pretenuring']), [CAP, TF, '--allocation-site-pretenuring']);
  t.same(workerExecArgv(['--no_allocation_site_pretenuring']), [CAP, TF, '--no_allocation_site_pretenuring']);
  t.same(workerExecArgv(['--allocation-site-pretenuring-x']), [CAP, NP, TF, '--allocation-site-pretenuring-x'], 'another flag is not this one');
});

t.test('TurboFan\'s call count is Legate\'s unless the user set it', async (t) => {
  t.same(workerExecArgv(['--invocation-count-for-turbofan=3000']), [CAP, NP, '--invocation-count-for-turbofan=3000']);
  t.same(workerExecArgv([], '--invocation_count_for_turbofan=500'), [CAP, NP], 'from NODE_OPTIONS, either spelling');
});
