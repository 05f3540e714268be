// `legate explain`: against a bootstrap file (-c, hosts as configured) or a running Legate's
// admin (--admin, GET /explain with live host health); prints the tree or the JSON.
import { loadBootstrap, type BootstrapConfig } from '../config/index.ts';
import { ExplainError } from './errors.ts';
import { explain } from './explain.ts';
import { parseHeaders } from './request.ts';
import { formatTree } from './tree.ts';
import type { Explanation } from './types.ts';

export interface ExplainCliOptions {
  config?: string;
  admin?: string;
  request: string;
  header: string[];
  listener?: string;
  source: string;
  json?: boolean;
  // --mode sidecar with -c: the bootstrap as `legate run --mode sidecar` completes it (server/'s to give)
  sidecar?: (boot: BootstrapConfig) => BootstrapConfig;
}

export async function explainRequest(url: string, opts: ExplainCliOptions): Promise<string> {
  const input = { url, method: opts.request, headers: parseHeaders(opts.header), listener: opts.listener, source: opts.source };
  let explanation: Explanation;
  if (opts.config !== undefined) {
    const boot = loadBootstrap(opts.config);
    explanation = explain(opts.sidecar?.(boot) ?? boot, input, { meshRetries: opts.sidecar !== undefined });
  } else {
    explanation = await fromAdmin(opts.admin!, url, opts);
  }
  return opts.json === true ? JSON.stringify(explanation, null, 2) + '\n' : formatTree(explanation);
}

async function fromAdmin(admin: string, url: string, opts: ExplainCliOptions): Promise<Explanation> {
  const query = new URLSearchParams({ url, method: opts.request, source: opts.source });
  for (const header of opts.header) query.append('header', header);
  if (opts.listener !== undefined) query.set('listener', opts.listener);
  const base = admin.includes('://') ? admin : `http://${admin}`;
  let response: Response;
  try {
    response = await fetch(`${base}/explain?${query}`);
  } catch (err) {
    throw new ExplainError(`cannot reach the admin at ${admin}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
  }
  const body = (await response.json().catch(() => null)) as (Explanation & { error?: string }) | null;
  if (body === null) throw new ExplainError(`the admin at ${admin} answered ${response.status} without JSON: is it a Legate with /explain?`);
  if (!response.ok) throw new ExplainError(body.error ?? `the admin at ${admin} answered ${response.status}`);
  return body;
}
