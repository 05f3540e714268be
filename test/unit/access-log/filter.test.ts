import t from 'tap';
import { StreamInfo, compileFilter } from '../../../proxy/access-log/index.ts';

function info(code: number, durationMs: number | undefined, flags: string[] = [], healthCheck = false): StreamInfo {
  const i = new StreamInfo(0, performance.now());
  i.responseCode = code;
  i.durationMs = durationMs;
  for (const f of flags) i.setResponseFlag(f);
  i.healthCheck = healthCheck;
  return i;
}

t.test('status_code compares the response code (0 when none was sent)', async (t) => {
  const ge500 = compileFilter({ kind: 'status_code', op: 'GE', value: 500 });
  t.equal(ge500(info(503, 1)), true);
  t.equal(ge500(info(200, 1)), false);
  t.equal(ge500(info(0, 1)), false);
  t.equal(compileFilter({ kind: 'status_code', op: 'EQ', value: 0 })(info(0, 1)), true);
  t.equal(compileFilter({ kind: 'status_code', op: 'LE', value: 299 })(info(204, 1)), true);
});

t.test('duration compares whole milliseconds, or the time so far', async (t) => {
  const ge100 = compileFilter({ kind: 'duration', op: 'GE', value: 100 });
  t.equal(ge100(info(200, 100.9)), true);
  t.equal(ge100(info(200, 99.9)), false);
  t.equal(compileFilter({ kind: 'duration', op: 'EQ', value: 99 })(info(200, 99.9)), true);
  const running = info(200, undefined);
  running.startMono = performance.now() - 5_000;
  t.equal(ge100(running), true);
});

t.test('not_health_check', async (t) => {
  const f = compileFilter({ kind: 'not_health_check' });
  t.equal(f(info(200, 1, [], true)), false);
  t.equal(f(info(200, 1)), true);
});

t.test('response_flag: any listed flag, or any flag at all when none is listed', async (t) => {
  const f = compileFilter({ kind: 'response_flag', flags: ['UH', 'UF'] });
  t.equal(f(info(503, 1, ['UF', 'URX'])), true);
  t.equal(f(info(503, 1, ['UT'])), false);
  t.equal(f(info(200, 1)), false);
  const any = compileFilter({ kind: 'response_flag', flags: [] });
  t.equal(any(info(503, 1, ['UT'])), true);
  t.equal(any(info(200, 1)), false);
  t.throws(() => compileFilter({ kind: 'response_flag', flags: ['XX'] }), /unknown response flag "XX"/);
});

t.test('and / or nest', async (t) => {
  const f = compileFilter({
    kind: 'or',
    filters: [
      { kind: 'and', filters: [{ kind: 'status_code', op: 'GE', value: 500 }, { kind: 'not_health_check' }] },
      { kind: 'duration', op: 'GE', value: 1000 },
    ],
  });
  t.equal(f(info(503, 1)), true);
  t.equal(f(info(503, 1, [], true)), false);
  t.equal(f(info(200, 2000, [], true)), true);
  t.equal(f(info(200, 1)), false);
  t.equal(compileFilter({ kind: 'and', filters: [] })(info(200, 1)), true);
  t.equal(compileFilter({ kind: 'or', filters: [] })(info(200, 1)), false);
});
