// Builds Legate's N-API addons with node-gyp, each into build/ in its own folder. Run by the
// package's install script, so it never fails: whatever happens, it prints one line per addon and
// exits 0, and Legate then goes without what the addon gives (said in the line and at run time).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const proxyDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Each addon: its folder under proxy/, and what Legate lacks without it. */
const ADDONS = [
  { name: 'original_dst', dir: join(proxyDir, 'listener', 'original-dst'), without: 'original_dst listeners are unavailable' },
  { name: 'malloc_trim', dir: join(proxyDir, 'allocator'), without: 'freed native memory is not returned to the system' },
];

function findNodeGyp(): string | undefined {
  const candidates = [
    process.env.npm_config_node_gyp, // set by npm while it runs install scripts
    resolveFromProject('node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ];
  return candidates.find((candidate) => candidate !== undefined && existsSync(candidate));
}

function resolveFromProject(request: string): string | undefined {
  try {
    return createRequire(import.meta.url).resolve(request);
  } catch {
    return undefined;
  }
}

// N-API is ABI-stable, so any local Node's headers do; without local ones node-gyp would try to
// download headers, which an offline machine cannot.
function findNodeDir(): string | undefined {
  if (process.env.npm_config_nodedir) return undefined; // node-gyp reads it itself
  const prefixes = [join(dirname(process.execPath), '..'), '/usr/local', '/usr'];
  return prefixes.find((prefix) => existsSync(join(prefix, 'include', 'node', 'node_api.h')));
}

function build(dir: string): string {
  const log = join(dir, 'build', 'build.log');
  const nodeGyp = findNodeGyp();
  if (nodeGyp === undefined) return 'not built: node-gyp not found (it ships with npm)';
  const nodeDir = findNodeDir();
  const args = [nodeGyp, 'rebuild', ...(nodeDir ? [`--nodedir=${nodeDir}`] : [])];
  const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `${result.stdout ?? ''}${result.stderr ?? ''}`);
  if (result.error) return `not built: ${result.error.message} (log: ${log})`;
  if (result.status !== 0) return `not built: node-gyp exited ${result.status ?? result.signal} (log: ${log})`;
  return 'built';
}

for (const addon of ADDONS) {
  let outcome: string;
  try {
    outcome = build(addon.dir);
  } catch (error) {
    outcome = `not built: ${(error as Error).message.split('\n')[0]}`;
  }
  console.log(`legate: ${addon.name} addon ${outcome}${outcome === 'built' ? '' : `; ${addon.without}`}`);
}
