// The Node flags a forked worker starts with: Legate's cap on V8's young generation, pretenuring
// off and earlier tier-up, unless the user set them, on the command line or in NODE_OPTIONS
// (either spelling), and the primary's own flags kept as they are.
import t from 'tap';
import { WORKER_SEMI_SPACE_MB, workerExecArgv } from '../../../proxy/server/v8-flags.ts';

const CAP = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`;
const NP = '--no-allocation-site-pretenuring';
const MAGLEV = '--invocation-count-for-maglev=200';
const TURBOFAN = '--invocation-count-for-turbofan=1500';
const TIERING = [MAGLEV, TURBOFAN];

t.test('the young generation is capped by default, the primary\'s flags kept', async (t) => {
  t.same(workerExecArgv([]), [CAP, NP, ...TIERING]);
  t.same(workerExecArgv(['--enable-source-maps', '--max-old-space-size=512'], '--trace-warnings'), [CAP, NP, ...TIERING, '--enable-source-maps', '--max-old-space-size=512']);
});

t.test('a semi-space size the user gave wins', async (t) => {
  t.same(workerExecArgv(['--max-semi-space-size=64']), [NP, ...TIERING, '--max-semi-space-size=64']);
  t.same(workerExecArgv(['--max_semi_space_size', '2']), [NP, ...TIERING, '--max_semi_space_size', '2']);
  t.same(workerExecArgv([], '--import x.js --max-semi-space-size=32'), [NP, ...TIERING], 'from NODE_OPTIONS (the worker inherits it)');
  t.same(workerExecArgv([], '  --max_semi_space_size=4  '), [NP, ...TIERING]);
});

t.test('pretenuring is off unless the user set it either way', async (t) => {
  t.same(workerExecArgv(['--allocation-site-pretenuring']), [CAP, ...TIERING, '--allocation-site-pretenuring']);
  t.same(workerExecArgv(['--no_allocation_site_pretenuring']), [CAP, ...TIERING, '--no_allocation_site_pretenuring']);
  t.same(workerExecArgv(['--allocation-site-pretenuring-x']), [CAP, NP, ...TIERING, '--allocation-site-pretenuring-x'], 'another flag is not this one');
});

t.test('each tier-up count the user gave wins on its own', async (t) => {
  t.same(workerExecArgv(['--invocation-count-for-turbofan=3000']), [CAP, NP, MAGLEV, '--invocation-count-for-turbofan=3000']);
  t.same(workerExecArgv(['--invocation_count_for_maglev=400']), [CAP, NP, TURBOFAN, '--invocation_count_for_maglev=400']);
  t.same(workerExecArgv([], '--invocation-count-for-maglev-osr=50'), [CAP, NP, ...TIERING], 'a longer flag is another one');
});
