// Fill a peer config template from bench/peers/: every {{name}} must have a value.
import fs from 'node:fs';
import path from 'node:path';

export function renderPeerConfig(relativePath: string, values: Record<string, string | number>): string {
  const template = fs.readFileSync(path.join(import.meta.dirname, relativePath), 'utf8');
  return template.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    if (!(name in values)) throw new Error(`bench/peers/${relativePath}: no value for {{${name}}}`);
    return String(values[name]);
  });
}
