// Files a config names (the bootstrap, DataSource.filename, path_config_source files) are read
// whole, so only regular files are read: /dev/zero or /dev/urandom would be read until memory ran
// out, and a FIFO would block the read forever (Envoy refuses /dev, /proc and /sys paths too).
// Opened non-blocking, so opening a FIFO does not wait for a writer; the check is on the opened file.
// As in Envoy, /dev/fd/N is the exception: a config handed over on a descriptor by a script
// (`legate run -c <(make-config)`) is read to its end.

// Not an ESM import: that reads every export of node:fs, loading what its lazy ones need.
const { closeSync, constants, fstatSync, openSync, readFileSync } = process.getBuiltinModule('node:fs');

/** What `code` says when the path is not a regular file (callers print codes as the reason). */
export const NOT_REGULAR_FILE = 'not a regular file';

/** The text of the regular file at `file`; throws an error with a `code` (ENOENT, EACCES, NOT_REGULAR_FILE, ...). */
export function readRegularFile(file: string): string {
  if (file.startsWith('/dev/fd/')) return readFileSync(file, 'utf8');
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error(`${file}: ${NOT_REGULAR_FILE}`), { code: NOT_REGULAR_FILE });
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
