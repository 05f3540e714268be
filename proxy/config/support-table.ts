// Rewrites the field table in proxy/config/README.md from support.ts, so the documentation says
// exactly what the validator enforces (a unit test checks they agree).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { supportTableMarkdown } from './support.ts';

export const README = fileURLToPath(new URL('./README.md', import.meta.url));
const TABLE = /(<!-- support-table:[^\n]*-->\n)[\s\S]*?(\n<!-- \/support-table -->)/;

export function withCurrentTable(readme: string): string {
  return readme.replace(TABLE, (_m, open: string, close: string) => open + supportTableMarkdown() + close);
}

if (import.meta.main) writeFileSync(README, withCurrentTable(readFileSync(README, 'utf8')));
