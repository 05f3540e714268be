// The static module graph of Legate's sources: every `import ... from`, `import '...'` and
// `export ... from` (type-only ones included), parsed with the TypeScript parser so comments and
// strings cannot fool it. Dynamic `import()` is not an edge: it is how a heavy module is kept out
// of a process until it is needed. Used by the layout tests (cycles, folder arrows, what a worker
// process loads).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ImportEdge {
  /** Repo-relative path of the imported file, or the bare specifier (package or node: builtin). */
  target: string;
  external: boolean;
  typeOnly: boolean;
}

/** Repo-relative path (forward slashes) -> its static imports. */
export type ImportGraph = Map<string, ImportEdge[]>;

function tsFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFilesUnder(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The static imports of one file's source. */
export function staticImports(fileName: string, source: string): { specifier: string; typeOnly: boolean }[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: { specifier: string; typeOnly: boolean }[] = [];
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause;
      const named = clause?.namedBindings;
      const allTypes = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      out.push({ specifier: statement.moduleSpecifier.text, typeOnly: allTypes });
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier !== undefined && ts.isStringLiteral(statement.moduleSpecifier)) {
      const named = statement.exportClause;
      const allTypes = statement.isTypeOnly || (named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly));
      out.push({ specifier: statement.moduleSpecifier.text, typeOnly: allTypes });
    } else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference) && ts.isStringLiteral(statement.moduleReference.expression)) {
      out.push({ specifier: statement.moduleReference.expression.text, typeOnly: statement.isTypeOnly });
    }
  }
  return out;
}

/** The graph of every .ts file under the given repo-relative folders. */
export function importGraph(folders: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const folder of folders) {
    for (const path of tsFilesUnder(join(REPO_ROOT, folder))) {
      const from = relative(REPO_ROOT, path).split('\\').join('/');
      const edges = staticImports(path, readFileSync(path, 'utf8')).map(({ specifier, typeOnly }): ImportEdge => {
        if (!specifier.startsWith('.')) return { target: specifier, external: true, typeOnly };
        return { target: relative(REPO_ROOT, resolve(dirname(path), specifier)).split('\\').join('/'), external: false, typeOnly };
      });
      graph.set(from, edges);
    }
  }
  return graph;
}

export interface ImportCycle {
  /** Every module of the strongly connected component, sorted. */
  members: string[];
  /** One real loop through it: a shortest path from its first member back to itself. */
  loop: string[];
}

/**
 * Every cycle of the graph, one per strongly connected component of more than one module (or a
 * module importing itself). Tarjan's SCC, then a shortest path around the component from its
 * first member, so the message names a real loop.
 */
export function importCycles(graph: ImportGraph): ImportCycle[] {
  const next = (node: string) => (graph.get(node) ?? []).filter((e) => !e.external && graph.has(e.target)).map((e) => e.target);
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const connect = (v: string) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!indices.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next(v).includes(v)) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) connect(v);
  return components.map((members) => ({ members, loop: shortestLoop(members[0], new Set(members), next) })).sort((a, b) => a.members[0].localeCompare(b.members[0]));
}

function shortestLoop(start: string, within: Set<string>, next: (n: string) => string[]): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i];
    for (const w of next(v)) {
      if (!within.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = parent.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Every file (and external specifier) reached from `entry` through static imports; type-only ones skipped (erased at run time). */
export function runtimeClosure(graph: ImportGraph, entry: string): { files: Set<string>; externals: Set<string>; via: Map<string, string> } {
  const files = new Set<string>([entry]);
  const externals = new Set<string>();
  const via = new Map<string, string>();
  const queue = [entry];
  for (let i = 0; i < queue.length; i++) {
    for (const edge of graph.get(queue[i]) ?? []) {
      if (edge.typeOnly) continue;
      if (!via.has(edge.target)) via.set(edge.target, queue[i]);
      if (edge.external) externals.add(edge.target);
      else if (!files.has(edge.target)) {
        files.add(edge.target);
        queue.push(edge.target);
      }
    }
  }
  return { files, externals, via };
}

/** The import chain from the closure's entry to `target`, for a readable failure. */
export function chainTo(via: Map<string, string>, entry: string, target: string): string[] {
  const chain = [target];
  for (let at = target; at !== entry && via.has(at); ) {
    at = via.get(at)!;
    chain.unshift(at);
  }
  return chain;
}
