// Raw HTTP/2 frames (RFC 9113) and a minimal HPACK encoder of our own: every field a literal
// without indexing, no Huffman. Written by hand so the fuzzer can say anything, valid or not.

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const DATA = 0x0;
export const HEADERS = 0x1;
export const PRIORITY = 0x2;
export const RST_STREAM = 0x3;
export const SETTINGS = 0x4;
export const PUSH_PROMISE = 0x5;
export const PING = 0x6;
export const GOAWAY = 0x7;
export const WINDOW_UPDATE = 0x8;
export const CONTINUATION = 0x9;

export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY_FLAG = 0x20;

/** A frame; `length` overrides the length field (to lie about it). */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0), length = payload.length): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(length & 0xffffff, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([head, payload]);
}

export function settings(values: [id: number, value: number][], flags = 0, streamId = 0): Buffer {
  const payload = Buffer.alloc(values.length * 6);
  values.forEach(([id, value], i) => {
    payload.writeUInt16BE(id & 0xffff, i * 6);
    payload.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return frame(SETTINGS, flags, streamId, payload);
}

export function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment >>> 0);
  return frame(WINDOW_UPDATE, 0, streamId, payload);
}

export function rstStream(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code >>> 0);
  return frame(RST_STREAM, 0, streamId, payload);
}

export function ping(data = Buffer.alloc(8), flags = 0): Buffer {
  return frame(PING, flags, 0, data);
}

export function priority(streamId: number, dependsOn: number, weight: number, exclusive = false): Buffer {
  const payload = Buffer.alloc(5);
  payload.writeUInt32BE(((exclusive ? 0x80000000 : 0) | dependsOn) >>> 0);
  payload[4] = weight & 0xff;
  return frame(PRIORITY, 0, streamId, payload);
}

export function goaway(lastStreamId: number, code: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId >>> 0);
  payload.writeUInt32BE(code >>> 0, 4);
  return frame(GOAWAY, 0, 0, payload);
}

// ---- HPACK (RFC 7541), literals only ----

/** An HPACK integer with an N-bit prefix; `flags` are the bits above the prefix. */
export function hpackInt(value: number, prefixBits: number, flags = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInt(bytes.length, 7), bytes]);
}

/** A header block of literal fields without indexing (new names), in the order given. */
export function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.flatMap(([name, value]) => [Buffer.from([0x00]), hpackString(name), hpackString(value)]));
}

/** A request's fields: the four pseudo-headers, then the others. */
export function requestFields(path: string, extra: [string, string][] = [], method = 'GET'): [string, string][] {
  return [[':method', method], [':scheme', 'http'], [':authority', 'fuzz.test'], [':path', path], ...extra];
}

/** HEADERS (END_HEADERS set unless the block is split into CONTINUATION frames of `fragment` bytes). */
export function headers(streamId: number, block: Buffer, endStream: boolean, fragment = block.length): Buffer {
  const first = block.subarray(0, fragment);
  const frames = [frame(HEADERS, (endStream ? END_STREAM : 0) | (fragment >= block.length ? END_HEADERS : 0), streamId, first)];
  for (let at = fragment; at < block.length; at += fragment) {
    const piece = block.subarray(at, at + fragment);
    frames.push(frame(CONTINUATION, at + fragment >= block.length ? END_HEADERS : 0, streamId, piece));
  }
  return Buffer.concat(frames);
}

export function data(streamId: number, payload: Buffer, endStream: boolean): Buffer {
  return frame(DATA, endStream ? END_STREAM : 0, streamId, payload);
}

/** The frame headers of a byte stream received from the peer (what it answered with). */
export function frameTypes(bytes: Buffer): { types: number[]; rest: Buffer } {
  const types: number[] = [];
  let at = 0;
  while (bytes.length - at >= 9) {
    const length = bytes.readUIntBE(at, 3);
    if (bytes.length - at < 9 + length) break;
    types.push(bytes[at + 3]);
    at += 9 + length;
  }
  return { types, rest: bytes.subarray(at) };
}
