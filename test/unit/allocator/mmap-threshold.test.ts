// proxy/allocator/ pinMmapThreshold(): after a 1 MiB chunk has been freed, glibc puts later large
// chunks in the heap unless the threshold is pinned. A child process frees one 1 MiB Buffer, then
// holds 160 Buffers of 256 KiB, and reports how much of them the [heap] mapping holds.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { canReleaseFreeMemory, MMAP_THRESHOLD_BYTES, pinMmapThreshold } from '../../../proxy/allocator/index.ts';

const allocator = fileURLToPath(new URL('../../../proxy/allocator/index.ts', import.meta.url));

function heapMappingKbAfterLargeFree(pin: boolean): { pinned: boolean; heapKb: number } {
  const child = `
const { pinMmapThreshold } = await import(${JSON.stringify(allocator)});
const pinned = ${pin} ? pinMmapThreshold({}) : false;
let big = Buffer.allocUnsafeSlow(1024 * 1024).fill(1);
big = null;
for (let i = 0; i < 50 && process.memoryUsage().arrayBuffers >= 1024 * 1024; i++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const held = Array.from({ length: 160 }, () => Buffer.allocUnsafeSlow(256 * 1024).fill(1));
const smaps = require('node:fs').readFileSync('/proc/self/smaps', 'utf8');
const at = smaps.indexOf('[heap]');
const heapKb = at < 0 ? 0 : Number(/Rss:\\s+(\\d+) kB/.exec(smaps.slice(at))[1]);
console.log(JSON.stringify({ pinned, heapKb, held: held.length }));
`;
  const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=commonjs', '-e', `(async () => {${child}})()`], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: undefined, GLIBC_TUNABLES: undefined },
  });
  if (run.status !== 0) throw new Error(`child failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as { pinned: boolean; heapKb: number };
}

t.test('the environment wins over the pin', { skip: canReleaseFreeMemory() ? false : 'the malloc_trim addon is not built' }, async (t) => {
  t.equal(pinMmapThreshold({}), true, 'pinned when the environment sets no threshold');
  t.equal(pinMmapThreshold({ MALLOC_MMAP_THRESHOLD_: '65536' }), false);
  t.equal(pinMmapThreshold({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' }), false);
  t.equal(MMAP_THRESHOLD_BYTES, 128 * 1024);
});

t.test('large chunks stay out of the heap once the threshold is pinned', { skip: canReleaseFreeMemory() ? false : 'the malloc_trim addon is not built' }, async (t) => {
  const unpinned = heapMappingKbAfterLargeFree(false);
  const pinned = heapMappingKbAfterLargeFree(true);
  t.equal(pinned.pinned, true);
  // 160 x 256 KiB = 40 MiB.
  t.ok(unpinned.heapKb > 30_000, `without the pin glibc raised its threshold and the chunks are in [heap] (${unpinned.heapKb} kB)`);
  t.ok(pinned.heapKb < 15_000, `with it they are mapped apart (${pinned.heapKb} kB in [heap])`);
});
