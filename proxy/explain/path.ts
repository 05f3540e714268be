// The path the router sees: the connection manager's path_with_escaped_slashes_action first, then
// normalize_path and merge_slashes, with the connection manager's own functions and in its order.
import type { HttpConnectionManager } from '../config/model.ts';
import { hasEscapedSlashes, normalizeRequestPath, unescapeSlashes } from '../http/index.ts';

export type PathOutcome =
  | { kind: 'route'; path: string } // routed on this path (the same as sent when nothing applies)
  | { kind: 'reject' } // REJECT_REQUEST: 400
  | { kind: 'redirect'; location: string }; // UNESCAPE_AND_REDIRECT: 307 to the unescaped path

export function connectionManagerPath(hcm: HttpConnectionManager, path: string, method: string): PathOutcome {
  const action = hcm.pathWithEscapedSlashesAction;
  const escaped = action !== 'KEEP_UNCHANGED' && method !== 'CONNECT' && hasEscapedSlashes(path);
  if (escaped && action === 'REJECT_REQUEST') return { kind: 'reject' };
  let routed = escaped ? unescapeSlashes(path) : path;
  if (hcm.normalizePath || hcm.mergeSlashes) routed = normalizeRequestPath(routed, hcm.normalizePath, hcm.mergeSlashes);
  return escaped && action === 'UNESCAPE_AND_REDIRECT' ? { kind: 'redirect', location: routed } : { kind: 'route', path: routed };
}
