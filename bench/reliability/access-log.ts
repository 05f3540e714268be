// Reads back the proxies' JSON access log (config.ts's fields): one entry per request id, so a run
// can give each of its failures the response flags and details the proxy logged for it.
import { existsSync, readFileSync } from 'node:fs';

export interface LoggedRequest {
  id: string;
  code: number;
  flags: string;
  details: string;
  upstream: string;
  attempts: number;
}

export function readAccessLog(path: string): Map<string, LoggedRequest> {
  const byId = new Map<string, LoggedRequest>();
  if (!existsSync(path)) return byId;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line cut by a killed worker
    }
    const id = String(entry.id ?? '-');
    byId.set(id, {
      id,
      code: Number(entry.code ?? 0),
      flags: String(entry.flags ?? '-'),
      details: String(entry.details ?? '-'),
      upstream: String(entry.upstream ?? '-'),
      attempts: Number(entry.attempts ?? 0),
    });
  }
  return byId;
}
