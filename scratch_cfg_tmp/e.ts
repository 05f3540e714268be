import { readFileSync, writeFileSync } from 'node:fs';
import { loadBootstrap } from '../proxy/config/index.ts';
const src = readFileSync('test/unit/config/errors.test.ts', 'utf8');
const BASE = src.slice(src.indexOf('const BASE = `') + 14, src.indexOf('`;\n\nconst HCM'));
const SECOND = src.slice(src.indexOf('const SECOND_LISTENER = `') + 25, src.indexOf('  clusters:`;') + 11);
const cases: [string, string][] = [
  ['\n  clusters:', SECOND],
  ['          http_filters:\n', '          http_filters:\n          - name: envoy.filters.http.router\n'],
  ['domains: ["*"]', 'domains: ["*"'],
];
for (const [a, b] of cases) {
  const text = BASE.replace(a, b);
  writeFileSync('scratch_cfg_tmp/c.yaml', text);
  try { loadBootstrap('scratch_cfg_tmp/c.yaml'); console.log('no error'); } catch (e: any) { console.log(e.line, e.message); console.log(text.split('\n')[e.line - 1]); }
}
