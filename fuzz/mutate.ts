// Byte-level mutations shared by the fuzzers: flip bits, insert, delete and duplicate ranges, and
// overwrite with bytes that matter to HTTP parsers (CR, LF, NUL, colon, space, comma, digits).
import type { Random } from './random.ts';

const INTERESTING = Buffer.from('\r\n\0: ,;\t=\x7f\xff0123456789abcdefABCDEF"\\');

export function mutateBytes(input: Buffer, random: Random, rounds = random.range(1, 4)): Buffer {
  let out = input;
  for (let i = 0; i < rounds; i++) out = mutateOnce(out, random);
  return out;
}

function mutateOnce(input: Buffer, random: Random): Buffer {
  const at = input.length === 0 ? 0 : random.int(input.length);
  const span = Math.min(input.length - at, random.range(1, 16));
  switch (random.int(6)) {
    case 0: {
      // Flip one bit.
      if (input.length === 0) return input;
      const out = Buffer.from(input);
      out[at] ^= 1 << random.int(8);
      return out;
    }
    case 1: {
      // Insert interesting or random bytes.
      const insert = random.chance(0.7) ? Buffer.from([INTERESTING[random.int(INTERESTING.length)]]) : random.bytes(random.range(1, 8));
      return Buffer.concat([input.subarray(0, at), insert, input.subarray(at)]);
    }
    case 2:
      // Delete a range.
      return Buffer.concat([input.subarray(0, at), input.subarray(at + span)]);
    case 3:
      // Duplicate a range in place.
      return Buffer.concat([input.subarray(0, at + span), input.subarray(at, at + span), input.subarray(at + span)]);
    case 4: {
      // Overwrite one byte with an interesting one.
      if (input.length === 0) return input;
      const out = Buffer.from(input);
      out[at] = INTERESTING[random.int(INTERESTING.length)];
      return out;
    }
    default: {
      // Copy a range elsewhere (pieces of one message inside another).
      const to = random.int(input.length + 1);
      return Buffer.concat([input.subarray(0, to), input.subarray(at, at + span), input.subarray(to)]);
    }
  }
}

/** Offsets at which to split one input into several writes (sorted, inside the input). */
export function splitOffsets(length: number, random: Random): number[] {
  if (length < 2 || random.chance(0.5)) return [];
  const count = random.range(1, Math.min(6, length - 1));
  const offsets = new Set<number>();
  for (let i = 0; i < count; i++) offsets.add(random.range(1, length - 1));
  return [...offsets].sort((a, b) => a - b);
}
