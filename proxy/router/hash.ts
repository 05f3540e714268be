// A fast 32-bit non-cryptographic string hash: FNV-1a over UTF-16 code units, finished with
// murmur3's fmix32 so that every output bit depends on every input bit (ring hash and maglev use
// the whole range).
export function hash32(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
