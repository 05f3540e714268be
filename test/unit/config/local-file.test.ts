// Files a config names are read whole, so only regular files are read: a FIFO (or /dev/zero,
// which the bootstrap fuzzer found: validate read it until the machine ran out of memory) is
// refused at once with the path. A FIFO stands in for the device here: before the fix reading it
// blocked forever (this test would time out), where /dev/zero would take the machine's memory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadBootstrap } from '../../../proxy/config/index.ts';
import { NOT_REGULAR_FILE, readRegularFile } from '../../../proxy/config/local-file.ts';
import { createFileSource, LISTENER_TYPE_URL } from '../../../xds-client/index.ts';
import { bootstrap, httpListener, routes } from '../../support/bootstrap.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'legate-local-file-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fifo = path.join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);

t.test('a regular file is read; a FIFO and a directory are not', async (t) => {
  const file = path.join(dir, 'text.txt');
  writeFileSync(file, 'hello');
  t.equal(readRegularFile(file), 'hello');
  t.throws(() => readRegularFile(fifo), { code: NOT_REGULAR_FILE });
  t.throws(() => readRegularFile(dir), { code: NOT_REGULAR_FILE });
  t.throws(() => readRegularFile(path.join(dir, 'missing')), { code: 'ENOENT' });
});

t.test('a config on a descriptor (/dev/fd/N, as Envoy allows) is read to its end', async (t) => {
  // A shell pipe (node's own stdin pipes are sockets, which /dev/fd cannot open).
  const script = `import { readRegularFile } from ${JSON.stringify(new URL('../../../proxy/config/local-file.ts', import.meta.url).href)}; process.stdout.write(readRegularFile('/dev/fd/0'))`;
  const out = execFileSync('sh', ['-c', 'printf "from a pipe" | "$0" --input-type=module -e "$1"', process.execPath, script]);
  t.equal(out.toString(), 'from a pipe');
});

t.test('the bootstrap file itself', async (t) => {
  t.throws(() => loadBootstrap(fifo), new ConfigError('', 'cannot read config file (not a regular file)', 'check the path and its permissions', fifo));
});

t.test('a DataSource filename names the field', async (t) => {
  const file = path.join(dir, 'direct.json');
  const route = { match: { prefix: '/' }, direct_response: { status: 200, body: { filename: fifo } } };
  writeFileSync(file, JSON.stringify(bootstrap([httpListener('l', routes([route]))], [])));
  t.throws(() => loadBootstrap(file), { message: /direct_response\.body\.filename: cannot read '.*fifo' \(not a regular file\)/ });
});

t.test('a path_config_source file is refused and counted as a rejected update', async (t) => {
  const source = createFileSource({ path: fifo, typeUrl: LISTENER_TYPE_URL, onResources: async () => ({ ok: true }) });
  t.teardown(() => source.stop());
  const result = await source.start();
  t.match(result, { ok: false });
  t.match(source.state().lastError, /not a regular file/);
});
