// The Node flags a forked worker starts with: Legate's cap on V8's young generation unless the
// user gave one, on the command line or in NODE_OPTIONS (either spelling), and the primary's own
// flags kept as they are.
import t from 'tap';
import { WORKER_SEMI_SPACE_MB, workerExecArgv } from '../../../proxy/server/primary.ts';

const CAP = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`;

t.test('the young generation is capped by default, the primary\'s flags kept', async (t) => {
  t.same(workerExecArgv([]), [CAP]);
  t.same(workerExecArgv(['--enable-source-maps', '--max-old-space-size=512'], '--trace-warnings'), [CAP, '--enable-source-maps', '--max-old-space-size=512']);
});

t.test('a semi-space size the user gave wins', async (t) => {
  t.same(workerExecArgv(['--max-semi-space-size=64']), ['--max-semi-space-size=64']);
  t.same(workerExecArgv(['--max_semi_space_size', '2']), ['--max_semi_space_size', '2']);
  t.same(workerExecArgv([], '--import x.js --max-semi-space-size=32'), [], 'from NODE_OPTIONS (the worker inherits it)');
  t.same(workerExecArgv([], '  --max_semi_space_size=4  '), []);
});
