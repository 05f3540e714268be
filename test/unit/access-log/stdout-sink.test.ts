import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const index = fileURLToPath(new URL('../../../proxy/access-log/index.ts', import.meta.url));

// A child process owns its stdout and stderr, so the test reads exactly what the sinks wrote.
t.test('stdout and stderr sinks write the formatted lines when closed', async (t) => {
  const script = `
    import { createAccessLogger, StreamInfo } from ${JSON.stringify(index)};
    const make = (kind) => createAccessLogger(
      { name: kind, sink: { kind }, format: { kind: 'text', template: kind + ' %RESPONSE_CODE%\\n' } },
      { flushIntervalMs: 60000 },
    );
    const out1 = make('stdout'), out2 = make('stdout'), err = make('stderr');
    const info = new StreamInfo();
    info.responseCode = 204;
    out1.log(info); out2.log(info); err.log(info);
    await out1.close(); await out2.close(); await err.close();
  `;
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
  t.equal(stdout, 'stdout 204\nstdout 204\n');
  t.equal(stderr, 'stderr 204\n');
});
