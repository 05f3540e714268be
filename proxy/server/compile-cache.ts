// Node's compile cache, for the worker processes' memory. Legate's .ts files are run by Node's type
// stripping, whose transpiler (swc, as WebAssembly) stays loaded in every process that used it:
// ~17 MB of a worker's RSS. With the compile cache on, a module whose transpiled form is already in
// the cache is read from it and the transpiler is never loaded. The primary turns the cache on
// before it loads the modules a worker needs, writes the cache out, and its workers inherit
// NODE_COMPILE_CACHE pointing at it. The directory is Node's default (os.tmpdir()/node-compile-cache)
// unless NODE_COMPILE_CACHE says otherwise; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import module from 'node:module';

/**
 * Turns the cache on in this process, if it is not already, and puts its directory in
 * NODE_COMPILE_CACHE so that child processes (the workers) read it from their first module on.
 */
export function enableCompileCache(): void {
  if (typeof module.enableCompileCache !== 'function') return;
  const result = module.enableCompileCache();
  // Only a fresh ENABLED reports the base directory; ALREADY_ENABLED reports the versioned one
  // inside it, which is why the first call records it.
  if (result.status === module.constants.compileCacheStatus.ENABLED && result.directory !== undefined) process.env.NODE_COMPILE_CACHE ??= result.directory;
}

/** Writes what this process has compiled so far, for processes started from now on. */
export function flushCompileCache(): void {
  if (typeof module.flushCompileCache === 'function') module.flushCompileCache();
}
