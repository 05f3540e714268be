// explain/: what Legate would do with one hypothetical request, from its model and, against a
// running Legate, its live host state. Used by `legate explain` and the admin's GET /explain.
export { explain, type ExplainModel, type ExplainOptions } from './explain.ts';
export { ExplainError } from './errors.ts';
export { parseHeaders } from './request.ts';
export { formatTree } from './tree.ts';
export type { Explanation, ExplainInput } from './types.ts';
