// Random 64-bit span and trace ids as 16 hex digits, from a pool of random bytes refilled in
// bulk so that a request costs a slice of a buffer, not a call into the CSPRNG.
import { randomFillSync } from 'node:crypto';

const POOL = Buffer.alloc(4096);
let offset = POOL.length;

/** 16 lower-case hex digits, never all zero (an id of 0 means "unset" in B3 and Zipkin). */
export function randomId64(): string {
  for (;;) {
    if (offset + 8 > POOL.length) {
      randomFillSync(POOL);
      offset = 0;
    }
    const id = POOL.toString('hex', offset, offset + 8);
    offset += 8;
    if (id !== '0000000000000000') return id;
  }
}
