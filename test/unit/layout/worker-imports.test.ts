// What a worker process loads: the static imports reachable from its entry point must not bring
// in what only the primary needs (Envoy's protos and protobufjs, gRPC and the xDS client, the
// admin server, YAML, Redis, the WebAssembly histogram). Those are loaded with import() or
// createRequire() on the paths that use them. Type-only imports are erased and do not count.
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
