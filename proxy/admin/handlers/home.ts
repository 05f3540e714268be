// GET /: the admin's home page (HTML, as Envoy's): the dashboard first, then every endpoint with
// its help line; GET ones are links, mutating ones name their method. /help stays plain text.
import type { AdminResponse } from '../context.ts';

export interface EndpointHelp {
  path: string;
  help: string;
  mutates: boolean;
}

export function homePage(endpoints: readonly EndpointHelp[]): AdminResponse {
  const rows = endpoints.map((e) => {
    const name = e.mutates ? `${escape(e.path)} <small>(POST)</small>` : `<a href="${escape(e.path)}">${escape(e.path)}</a>`;
    return `<tr><td>${name}</td><td>${escape(e.help)}</td></tr>`;
  });
  const body = `<!doctype html>
<html><head><meta charset="utf-8"><title>Legate admin</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#1d2733}td{padding:3px 12px 3px 0;vertical-align:top}a{color:#0b63c5}
.dash{display:inline-block;margin:0 0 1.2em;padding:8px 14px;border-radius:6px;background:#0b63c5;color:#fff;text-decoration:none}</style>
</head><body><h1>Legate admin</h1>
<a class="dash" href="/dashboard">Live dashboard</a>
<table>${rows.join('\n')}</table>
</body></html>
`;
  return { status: 200, contentType: 'text/html; charset=UTF-8', body };
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
