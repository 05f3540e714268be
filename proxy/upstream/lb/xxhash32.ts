// xxHash32 (Yann Collet's XXH32) of a string's UTF-8 bytes. Places hosts on the hash ring and
// in the Maglev table; Envoy uses the same family (XXH64) for both. Also suits the route's hash
// policy when it needs a uint32 of a header or cookie value.

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

const encoder = new TextEncoder();
let buffer = new Uint8Array(256);

export function xxHash32(input: string, seed = 0): number {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (buffer.length < input.length * 3) buffer = new Uint8Array(input.length * 3);
  const len = encoder.encodeInto(input, buffer).written;
  const b = buffer;
  let i = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    for (; i + 16 <= len; i += 16) {
      v1 = round(v1, read32(b, i));
      v2 = round(v2, read32(b, i + 4));
      v3 = round(v3, read32(b, i + 8));
      v4 = round(v4, read32(b, i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME5) | 0;
  }
  h = (h + len) | 0;
  for (; i + 4 <= len; i += 4) {
    h = Math.imul(rotl((h + Math.imul(read32(b, i), PRIME3)) | 0, 17), PRIME4);
  }
  for (; i < len; i++) {
    h = Math.imul(rotl((h + Math.imul(b[i], PRIME5)) | 0, 11), PRIME1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}
