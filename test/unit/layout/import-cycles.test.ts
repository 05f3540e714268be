// No import cycles in Legate's sources: every static `import`/`export ... from` of every .ts file
// under proxy/, xds-client/, envoy-api/ and iptables/ (type-only ones included: a cycle is a cycle)
// forms a graph, and each strongly connected component of it is a failure naming a real loop.
import t from 'tap';
import { importCycles, importGraph, type ImportCycle } from '../../support/import-graph.ts';

/**
 * Cycles tolerated for now, each as the folder that wholly contains it. Emptying this list is the
 * goal; an entry that no longer matches any cycle fails the test so that it gets removed.
 */
const KNOWN_CYCLES: readonly { within: string; why: string }[] = [];

const SOURCE_FOLDERS = ['proxy', 'xds-client', 'envoy-api', 'iptables'];

const describe = (c: ImportCycle) => `${c.loop.join(' -> ')}${c.members.length > c.loop.length - 1 ? ` (component of ${c.members.length}: ${c.members.join(', ')})` : ''}`;
const allowedBy = (c: ImportCycle) => KNOWN_CYCLES.find((k) => c.members.every((m) => m.startsWith(k.within)));

t.test('no import cycles', async (t) => {
  const graph = importGraph(SOURCE_FOLDERS);
  t.ok(graph.size > 100, `${graph.size} modules parsed`);
  const cycles = importCycles(graph);
  const unexpected = cycles.filter((c) => allowedBy(c) === undefined);
  t.same(unexpected.map(describe), [], 'every cycle, as a loop');
  for (const known of KNOWN_CYCLES) {
    t.ok(cycles.some((c) => allowedBy(c) === known), `the known cycle in ${known.within} (${known.why}) still exists; once it is gone, remove it from KNOWN_CYCLES`);
  }
});

t.test('the graph sees what a cycle is made of', async (t) => {
  // Guards the parser: a test that cannot fail proves nothing.
  const { staticImports } = await import('../../support/import-graph.ts');
  const source = [
    "import type { A } from './a.ts';",
    "import { type B, type C } from './b.ts';",
    "import D, { e } from './d.ts';",
    "export { f } from './f.ts';",
    "export type { G } from './g.ts';",
    "export * from './h.ts';",
    "import './side-effect.ts';",
    "const lazy = await import('./lazy.ts'); // not static: not an edge",
    "// import { x } from './comment.ts';",
    "const text = \"import { y } from './string.ts'\";",
  ].join('\n');
  t.same(staticImports('x.ts', source), [
    { specifier: './a.ts', typeOnly: true },
    { specifier: './b.ts', typeOnly: true },
    { specifier: './d.ts', typeOnly: false },
    { specifier: './f.ts', typeOnly: false },
    { specifier: './g.ts', typeOnly: true },
    { specifier: './h.ts', typeOnly: false },
    { specifier: './side-effect.ts', typeOnly: false },
  ]);
  const graph = new Map([
    ['a.ts', [{ target: 'b.ts', external: false, typeOnly: true }]],
    ['b.ts', [{ target: 'c.ts', external: false, typeOnly: false }, { target: 'node:fs', external: true, typeOnly: false }]],
    ['c.ts', [{ target: 'a.ts', external: false, typeOnly: false }]],
    ['d.ts', [{ target: 'a.ts', external: false, typeOnly: false }]],
    ['e.ts', [{ target: 'e.ts', external: false, typeOnly: false }]],
  ]);
  t.same(importCycles(graph), [
    { members: ['a.ts', 'b.ts', 'c.ts'], loop: ['a.ts', 'b.ts', 'c.ts', 'a.ts'] },
    { members: ['e.ts'], loop: ['e.ts', 'e.ts'] },
  ]);
});
