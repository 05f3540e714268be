// A configuration error is one readable line: where (file:line, then the field path), what is
// wrong, and how to fix it. Translation code throws it with a field path only; whoever knows the
// source file (loadBootstrap) adds the file and line.

export class ConfigError extends Error {
  readonly path: string; // e.g. static_resources.listeners[0].address
  readonly what: string;
  readonly hint: string;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(path: string, what: string, hint = '', file?: string, line?: number) {
    super(formatConfigError(path, what, hint, file, line));
    this.name = 'ConfigError';
    this.path = path;
    this.what = what;
    this.hint = hint;
    this.file = file;
    this.line = line;
  }

  // The same error, placed in a file; `prefix` is the path of the resource inside that file
  // (an xDS resource read from a bootstrap-relative file, for instance).
  at(file: string, line: number | undefined, prefix = ''): ConfigError {
    return new ConfigError(joinPath(prefix, this.path), this.what, this.hint, file, line);
  }
}

function formatConfigError(path: string, what: string, hint: string, file?: string, line?: number): string {
  let where = '';
  if (file !== undefined) where = line !== undefined ? `${file}:${line}: ` : `${file}: `;
  const field = path === '' ? '' : `${path}: `;
  const how = hint === '' ? '' : ` (${hint})`;
  // One line, whatever the pieces hold.
  return `${where}${field}${what}${how}`.replace(/[\r\n]+/g, ' ');
}

// ---- field paths: a.b[0].c["map key"] ----

export function joinPath(path: string, field: string): string {
  if (path === '') return field;
  if (field === '') return path;
  return field.startsWith('[') ? path + field : `${path}.${field}`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

// Map keys often hold dots (filter names), so they are quoted.
export function keyPath(path: string, key: string): string {
  return `${path}[${JSON.stringify(key)}]`;
}

export type PathSegment = string | number;

export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      i++;
    } else if (c === '[') {
      if (path[i + 1] === '"') {
        // A JSON string literal up to the closing quote that is followed by ']'.
        let j = i + 2;
        while (j < path.length && !(path[j] === '"' && path[j - 1] !== '\\' && path[j + 1] === ']')) j++;
        segments.push(unquote(path.slice(i + 1, j + 1)));
        i = j + 2;
      } else {
        const j = path.indexOf(']', i);
        const end = j < 0 ? path.length : j;
        segments.push(Number(path.slice(i + 1, end)));
        i = end + 1;
      }
    } else {
      let j = i;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      segments.push(path.slice(i, j));
      i = j;
    }
  }
  return segments;
}

function unquote(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}
