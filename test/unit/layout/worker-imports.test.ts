// What a worker process loads: the static imports reachable from its entry point must not bring
// in what only the primary needs (Envoy's protos and protobufjs, gRPC and the xDS client, the
// admin server, YAML, Redis, the WebAssembly histogram). Those are loaded with import() or
// createRequire() on the paths that use them. Type-only imports are erased and do not count.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { chainTo, importGraph, runtimeClosure } from '../../support/import-graph.ts';

const ENTRY = 'proxy/server/worker-main.ts';

/** Packages a worker must not load at start-up. */
// undici is for tests and the bench; the proxy never imports it.
const PRIMARY_ONLY_PACKAGES = ['protobufjs', '@grpc/grpc-js', '@grpc/proto-loader', '@grpc/grpc-js-xds', 'yaml', 'ioredis', 'hdr-histogram-js', 'commander', 'undici'];

/**
 * Source folders and files of the primary's side. proxy/config/index.ts is the whole translator
 * (and Envoy's schema tables): a worker takes translated snapshots and uses config/ files directly.
 */
const PRIMARY_ONLY_FILES = ['xds-client/', 'proxy/admin/', 'proxy/server/primary.ts', 'proxy/server/dynamic-config.ts', 'proxy/server/xds-state.ts', 'proxy/demo/', 'iptables/', 'proxy/config/index.ts'];

/**
 * Node builtins only some configs need, required on first use (never statically imported): an
 * ESM import also reads every export, and node:http's lazy getters then load undici, node:tls,
 * node:http2 and node:zlib (see proxy/server/README.md, Memory).
 */
const ON_USE_BUILTINS = ['node:http', 'node:https', 'node:http2', 'node:tls', 'node:zlib'];

/**
 * Builtins every worker uses, taken with process.getBuiltinModule: an ESM import reads each export,
 * and the lazy ones load more (node:fs its promises API with readline, node:util parseArgs, its
 * diff and worker_threads).
 */
const NO_ESM_IMPORT_BUILTINS = ['node:fs', 'node:util'];

/** Builtin modules a worker must not have loaded once its imports are done, whatever the config. */
const NOT_LOADED_AT_START = ['http', '_http_server', '_http_client', 'https', 'http2', 'tls', 'zlib', 'worker_threads', 'internal/fs/promises', 'internal/util/parse_args/parse_args'];

t.test('a worker process imports only what serving needs', async (t) => {
  const graph = importGraph(['proxy', 'xds-client', 'envoy-api', 'iptables']);
  t.ok(graph.has(ENTRY), ENTRY);
  const { files, externals, via } = runtimeClosure(graph, ENTRY);
  const packageOf = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
  const bad = [
    ...[...externals].filter((e) => PRIMARY_ONLY_PACKAGES.includes(packageOf(e))),
    ...[...files].filter((f) => PRIMARY_ONLY_FILES.some((p) => f.startsWith(p))),
  ];
  t.same(bad.map((b) => chainTo(via, ENTRY, b).join(' > ')), [], 'nothing primary-only, by the chain that imports it');
  const eager = [...externals].filter((e) => ON_USE_BUILTINS.includes(e));
  t.same(eager.map((b) => chainTo(via, ENTRY, b).join(' > ')), [], 'no builtin that only some configs need is imported statically');
  const esm = [...externals].filter((e) => NO_ESM_IMPORT_BUILTINS.includes(e));
  t.same(esm.map((b) => chainTo(via, ENTRY, b).join(' > ')), [], 'node:fs and node:util come from process.getBuiltinModule');
});

t.test('the builtins a worker has loaded after its imports', async (t) => {
  // A child imports the worker's entry (which does nothing until it is a worker's main module)
  // and reports Node's own list of the builtins it loaded; createRequire() counts here too.
  const script = `await import(${JSON.stringify(new URL(`../../../${ENTRY}`, import.meta.url).href)});
    console.log(JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13))));`;
  // Through env -u: tap puts its module hooks in every child's NODE_OPTIONS, and they load their own.
  const child = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  t.equal(child.status, 0, child.stderr);
  const loaded: string[] = JSON.parse(child.stdout);
  t.ok(loaded.includes('_http_common') && loaded.includes('net'), 'the list holds what the codec loads (_http_common, net)');
  t.same(NOT_LOADED_AT_START.filter((m) => loaded.includes(m)), [], 'node:http, TLS, HTTP/2, zlib, fs/promises, parseArgs and worker_threads are not loaded');
});

t.test('HTTP filter implementations are loaded only when a config names them', async (t) => {
  // proxy/http/filters/index.ts imports each filter with import() from loadHttpFilters; a static
  // import of one of them anywhere in a worker's graph would load it for every config again.
  const registry = 'proxy/http/filters/index.ts';
  const lazy = [...readFileSync(registry, 'utf8').matchAll(/import\('\.\/([^']+\.ts)'\)/g)].map((m) => `proxy/http/filters/${m[1]}`);
  t.ok(lazy.length >= 18, `the registry imports its filters with import() (${lazy.length})`);
  const graph = importGraph(['proxy', 'xds-client', 'envoy-api', 'iptables']);
  const { files, via } = runtimeClosure(graph, ENTRY);
  t.ok(files.has(registry), 'the registry itself is loaded');
  t.same(lazy.filter((f) => files.has(f)).map((f) => chainTo(via, ENTRY, f).join(' > ')), [], 'no filter implementation is imported statically');
});
