// The example bootstraps the README points users to must stay valid.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadBootstrap } from '../../../proxy/config/index.ts';

const dir = fileURLToPath(new URL('../../../examples/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.json'));

t.ok(files.includes('demo.yaml'), 'the demo config is there');
for (const file of files) {
  t.test(file, async (t) => {
    const boot = loadBootstrap(dir + file);
    t.ok(boot.listeners.length > 0, 'has listeners');
    t.same(boot.warnings, [], 'no warnings');
  });
}
