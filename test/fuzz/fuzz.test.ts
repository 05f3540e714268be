// The fuzzers on a short budget with a fixed seed (npm run fuzz runs them long): each runs a few
// seconds against a real `legate run` (or validate's calls) and must end with no crash and no
// failed oracle. A failure prints the seed, the case and the input to replay it.
import t from 'tap';
import { runFuzzer } from '../../fuzz/run.ts';
import { formatReport } from '../../fuzz/report.ts';

const SEED = 20;
const SECONDS = 3;

for (const name of ['http1', 'bootstrap', 'http2'] as const) {
  t.test(`${name} fuzzer, seed ${SEED}, ${SECONDS} s`, async (t) => {
    const report = await runFuzzer(name, { seed: SEED, seconds: SECONDS });
    t.comment(formatReport(report));
    t.ok(report.inputs >= 5, `ran ${report.inputs} inputs`);
    t.equal(report.crashes, 0, 'no crash');
    t.same(report.failures, [], formatReport(report));
    if (name !== 'bootstrap') t.ok(report.forwarded > 0 && report.rejections > 0, 'both forwarded and refused inputs');
  });
}
