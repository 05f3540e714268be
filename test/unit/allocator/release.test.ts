// proxy/allocator/: freed malloc pages go back to the kernel. A child process frees 7 of every 8
// malloc'd 48 KB Buffers (the eighth, and one allocated last, keep glibc from trimming the heap
// itself), then the freed pages stay resident until releaseFreeMemory().
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { canReleaseFreeMemory, releaseFreeMemory } from '../../../proxy/allocator/index.ts';

const allocator = fileURLToPath(new URL('../../../proxy/allocator/index.ts', import.meta.url));

const CHILD = `
const { releaseFreeMemory } = await import(${JSON.stringify(allocator)});
const heapKb = () => {
  const smaps = require('node:fs').readFileSync('/proc/self/smaps', 'utf8');
  const at = smaps.indexOf('[heap]');
  return at < 0 ? 0 : Number(/Rss:\\s+(\\d+) kB/.exec(smaps.slice(at))[1]);
};
let chunks = Array.from({ length: 2000 }, () => Buffer.allocUnsafeSlow(48 * 1024).fill(1));
const pin = Buffer.allocUnsafeSlow(1024).fill(1);
const kept = chunks.filter((_, i) => i % 8 === 0);
const before = heapKb();
chunks = null;
// Backing stores are freed by V8's sweeper after a collection: wait (bounded) until they are.
for (let i = 0; i < 50 && process.memoryUsage().arrayBuffers > 40 * 1024 * 1024; i++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const freed = heapKb();
const released = releaseFreeMemory();
console.log(JSON.stringify({ before, freed, released, after: heapKb(), kept: kept.length + pin.length }));
`;

t.test('availability: the addon is built wherever glibc and a compiler are', async (t) => {
  t.type(canReleaseFreeMemory(), 'boolean');
  t.type(releaseFreeMemory(), 'boolean');
});

t.test('freed pages below live allocations are returned', { skip: canReleaseFreeMemory() ? false : 'the malloc_trim addon is not built' }, async (t) => {
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=commonjs', '-e', `(async () => {${CHILD}})()`], { encoding: 'utf8', timeout: 30_000 });
  t.equal(child.status, 0, child.stderr);
  const { before, freed, released, after } = JSON.parse(child.stdout) as { before: number; freed: number; released: boolean; after: number };
  t.ok(before > 80_000, `the chunks are in the malloc heap (${before} kB)`);
  t.ok(freed > before * 0.8, `glibc kept the freed chunks (${before} -> ${freed} kB)`);
  t.equal(released, true);
  t.ok(after < freed - 50_000, `released: ${freed} -> ${after} kB`);
});
