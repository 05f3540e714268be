// HTTP/2 inputs: the client preface and SETTINGS, then a few steps of valid requests, malformed
// header blocks, bad stream ids, frames on closed streams, lying lengths, flow-control overflows,
// bad SETTINGS, PRIORITY self-dependencies, floods (CONTINUATION, RST, PING, SETTINGS), huge
// header blocks and HPACK errors; sometimes mutated byte by byte after the preface. A request
// Legate must refuse carries /h2x/ in its path; the upstream must never see one.
import { mutateBytes, splitOffsets } from '../mutate.ts';
import type { Random } from '../random.ts';
import * as f from './frames.ts';

export interface Http2Case {
  index: number;
  notes: string[];
  input: Buffer;
  splits: number[];
  mutated: boolean;
  /** Stop reading Legate's answers until everything is written (outbound floods). */
  pauseReading: boolean;
}

interface Builder {
  random: Random;
  nextId(): number;
  /** A path Legate may serve (/h2/), or one it must refuse (/h2x/). */
  path(id: number, refuse: boolean): string;
}

type Step = (b: Builder) => Buffer;

const get = (b: Builder, extra: [string, string][] = []): Buffer => {
  const id = b.nextId();
  return f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), extra)), true);
};

/** A request whose header block is malformed (RFC 9113 8.2, 8.3): refused before it exists. */
const MALFORMED_BLOCKS: ((path: string) => [string, string][])[] = [
  (p) => f.requestFields(p, [['X-Upper', '1']]),
  (p) => f.requestFields(p, [['connection', 'keep-alive']]),
  (p) => f.requestFields(p, [['transfer-encoding', 'chunked']]),
  (p) => f.requestFields(p, [['keep-alive', 'timeout=5']]),
  (p) => f.requestFields(p, [['upgrade', 'websocket']]),
  (p) => f.requestFields(p, [['te', 'gzip']]),
  (p) => f.requestFields(p, [[':foo', 'bar']]),
  (p) => f.requestFields(p, [[':path', '/other']]),
  (p) => f.requestFields(p, [[':status', '200']]),
  (p) => [['x-first', '1'], ...f.requestFields(p)],
  (p) => f.requestFields(p).filter(([n]) => n !== ':method'),
  (p) => f.requestFields(p).filter(([n]) => n !== ':scheme'),
  (p) => [...f.requestFields(p).filter(([n]) => n !== ':path'), ['x-path', p]],
  (p) => [[':method', 'GET'], [':method', 'POST'], ...f.requestFields(p).slice(1)],
  (p) => [...f.requestFields(p), ['x-path', p]].map(([n, v]) => (n === ':path' ? [n, ''] : [n, v])),
  (p) => [[':method', 'GET'], [':scheme', 'http'], [':authority', 'fuzz.test'], [':path', `noslash${p}`]],
];

/**
 * A regular field with characters HTTP/2 forbids. nghttp2 (under node:http2) drops such a field
 * and keeps the request, as Envoy's nghttp2 codec did; oghttp2 resets the stream instead. Either
 * way the field must never reach the upstream: every one is named x-bad (or holds it).
 */
const BAD_FIELDS: [string, string][] = [
  ['x-bad', 'a\r\nx-bad-injected: b'],
  ['x-bad', 'a\nx-bad-injected: b'],
  ['x-bad', 'a\0b'],
  ['x-bad', 'a\x01b'],
  ['x-bad', 'a\x7fb'],
  ['x-bad', ' leading'],
  ['x-bad', 'trailing\t'],
  ['x bad', 'b'],
  ['x-bad\r\nx-bad-injected', 'b'],
  ['x-bad:', 'b'],
  ['x-bad(', 'b'],
];

const STEPS: Record<string, Step> = {
  get: (b) => get(b),
  post: (b) => {
    const id = b.nextId();
    const body = Buffer.alloc(b.random.range(0, 3000), 0x62);
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), [['content-length', String(body.length)]], 'POST')), false), f.data(id, body, true)]);
  },
  trailers: (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), [], 'POST')), false), f.data(id, Buffer.from('abc'), false), f.headers(id, f.headerBlock([['x-trailer', '1']]), true)]);
  },
  malformed: (b) => {
    const id = b.nextId();
    return f.headers(id, f.headerBlock(b.random.pick(MALFORMED_BLOCKS)(b.path(id, true))), true);
  },
  'bad-field': (b) => {
    const id = b.nextId();
    return f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), [b.random.pick(BAD_FIELDS), ['x-good', '1']])), true);
  },
  'pseudo-in-trailers': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, true), [], 'POST')), false), f.data(id, Buffer.from('abc'), false), f.headers(id, f.headerBlock([[':path', '/x']]), true)]);
  },
  'content-length-short': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, true), [['content-length', '10']], 'POST')), false), f.data(id, Buffer.from('abc'), true)]);
  },
  'content-length-long': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, true), [['content-length', '2']], 'POST')), false), f.data(id, Buffer.from('abcde'), true)]);
  },
  'huge-header-block': (b) => {
    const id = b.nextId();
    const block = f.headerBlock(f.requestFields(b.path(id, true), [['x-big', 'a'.repeat(b.random.range(70, 300) * 1024)]]));
    return f.headers(id, block, true, 16384);
  },
  'many-headers': (b) => {
    const id = b.nextId();
    const extra: [string, string][] = Array.from({ length: b.random.range(101, 2000) }, (_, i) => [`x-h${i}`, String(i)]);
    return f.headers(id, f.headerBlock(f.requestFields(b.path(id, true), extra)), true, 16384);
  },
  'continuation-fragments': (b) => {
    const id = b.nextId();
    return f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), [['x-a', 'v'.repeat(200)]])), true, b.random.range(1, 8));
  },
  'continuation-flood': (b) => {
    const id = b.nextId();
    const frames = [f.frame(f.HEADERS, f.END_STREAM, id, f.headerBlock(f.requestFields(b.path(id, false))))];
    for (let i = b.random.range(100, 20000); i > 0; i--) frames.push(f.frame(f.CONTINUATION, 0, id));
    return Buffer.concat(frames);
  },
  'continuation-other-stream': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.frame(f.HEADERS, f.END_STREAM, id, f.headerBlock(f.requestFields(b.path(id, true)))), f.frame(f.CONTINUATION, f.END_HEADERS, id + 2, f.headerBlock([['x-a', '1']]))]);
  },
  'continuation-without-headers': (b) => f.frame(f.CONTINUATION, f.END_HEADERS, b.nextId(), f.headerBlock([['x-a', '1']])),
  'window-overflow-connection': (b) => f.windowUpdate(0, 0x7fffffff),
  'window-overflow-stream': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), [], 'POST')), false), f.windowUpdate(id, 0x7fffffff), f.windowUpdate(id, 0x7fffffff), f.data(id, Buffer.from('x'), true)]);
  },
  'window-zero': (b) => f.windowUpdate(b.random.chance(0.5) ? 0 : 1, 0),
  'window-reserved-bit': (b) => f.windowUpdate(0, 0x80000001),
  'window-idle-stream': (b) => f.windowUpdate(b.nextId(), 100),
  'bad-settings': (b) =>
    b.random.pick([
      f.settings([[2, 2]]), // ENABLE_PUSH must be 0 or 1
      f.settings([[4, 0x80000000]]), // INITIAL_WINDOW_SIZE above 2^31-1
      f.settings([[5, 100]]), // MAX_FRAME_SIZE below 16384
      f.settings([[5, 0x1000000]]), // MAX_FRAME_SIZE above 2^24-1
      f.settings([[0x99, 1], [0, 0xffffffff]]), // unknown id; huge HEADER_TABLE_SIZE
      f.settings([[3, 0]]), // MAX_CONCURRENT_STREAMS 0
      f.settings([[6, 0]]), // MAX_HEADER_LIST_SIZE 0
      f.settings([[8, 7]]), // ENABLE_CONNECT_PROTOCOL 7
      f.frame(f.SETTINGS, 0, 0, Buffer.alloc(5)), // not a multiple of 6
      f.frame(f.SETTINGS, f.ACK, 0, Buffer.alloc(6)), // ACK with a payload
      f.settings([[1, 4096]], 0, 1), // on a stream
    ]),
  'initial-window-shrink': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), [], 'POST')), false), f.settings([[4, 0]]), f.settings([[4, 0x7fffffff]]), f.data(id, Buffer.from('x'), true)]);
  },
  'priority-self': (b) => {
    const id = b.nextId();
    return f.priority(id, id, b.random.int(256), b.random.chance(0.5));
  },
  'headers-priority-self': (b) => {
    const id = b.nextId();
    const payload = Buffer.concat([Buffer.from([0, 0, 0, 0, 16]), f.headerBlock(f.requestFields(b.path(id, true)))]);
    payload.writeUInt32BE(id, 0);
    return f.frame(f.HEADERS, f.END_STREAM | f.END_HEADERS | f.PRIORITY_FLAG, id, payload);
  },
  'priority-bad-length': (b) => f.frame(f.PRIORITY, 0, b.nextId(), Buffer.alloc(4)),
  'priority-stream-0': () => f.priority(0, 1, 1),
  'rst-flood': (b) => {
    const frames: Buffer[] = [];
    for (let i = b.random.range(50, 3000); i > 0; i--) {
      const id = b.nextId();
      frames.push(f.headers(id, f.headerBlock(f.requestFields(b.path(id, false))), true), f.rstStream(id, 8));
    }
    return Buffer.concat(frames);
  },
  'ping-flood': (b) => Buffer.concat(Array.from({ length: b.random.range(100, 20000) }, () => f.ping())),
  'settings-flood': (b) => Buffer.concat(Array.from({ length: b.random.range(100, 10000) }, () => f.settings([]))),
  'ping-bad': (b) => b.random.pick([f.frame(f.PING, 0, 0, Buffer.alloc(7)), f.frame(f.PING, 0, 1, Buffer.alloc(8)), f.ping(Buffer.alloc(8), f.ACK)]),
  'rst-idle': (b) => f.rstStream(b.nextId(), 0),
  'rst-bad-length': (b) => f.frame(f.RST_STREAM, 0, b.nextId(), Buffer.alloc(3)),
  'rst-stream-0': () => f.rstStream(0, 1),
  'headers-stream-0': (b) => f.headers(0, f.headerBlock(f.requestFields(b.path(0, true))), true),
  'headers-even-stream': (b) => f.headers(2, f.headerBlock(f.requestFields(b.path(2, true))), true),
  'headers-reused-id': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, false))), true), f.headers(id, f.headerBlock(f.requestFields(`${b.path(id, true)}/again`)), true)]);
  },
  'headers-lower-id': (b) => {
    const high = b.nextId() + 40;
    const low = b.nextId();
    return Buffer.concat([f.headers(high, f.headerBlock(f.requestFields(b.path(high, false))), true), f.headers(low, f.headerBlock(f.requestFields(b.path(low, true))), true)]);
  },
  'data-closed-stream': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, false))), true), f.data(id, Buffer.from('late'), true)]);
  },
  'data-after-rst': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, true), [], 'POST')), false), f.rstStream(id, 8), f.data(id, Buffer.from('late'), true)]);
  },
  'data-idle-stream': (b) => f.data(b.nextId(), Buffer.from('x'), true),
  'data-stream-0': () => f.data(0, Buffer.from('x'), true),
  'data-over-window': (b) => {
    // Past 64 KiB, the window before our SETTINGS ACK; whether Legate's larger one applies yet is
    // nghttp2's call, so either answer is right.
    const id = b.nextId();
    const chunks = [f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), [], 'POST')), false)];
    for (let i = 0; i < 5; i++) chunks.push(f.data(id, Buffer.alloc(16384), false));
    chunks.push(f.data(id, Buffer.alloc(1), true));
    return Buffer.concat(chunks);
  },
  'frame-too-large': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, true), [], 'POST')), false), f.data(id, Buffer.alloc(20000), true)]);
  },
  'length-lies': (b) => {
    // Too short truncates the block (an HPACK error); too long takes the next frame's bytes into
    // it, which may decode as a field with an empty name that nghttp2 drops: either answer.
    const id = b.nextId();
    const payload = f.headerBlock(f.requestFields(b.path(id, false)));
    return f.frame(f.HEADERS, f.END_STREAM | f.END_HEADERS, id, payload, payload.length + b.random.pick([-3, -1, 1, 7, 5000]));
  },
  'padding-too-long': (b) => {
    const id = b.nextId();
    const payload = Buffer.concat([Buffer.from([250]), f.headerBlock(f.requestFields(b.path(id, true)))]);
    return f.frame(f.HEADERS, f.END_STREAM | f.END_HEADERS | f.PADDED, id, payload);
  },
  'padded-data': (b) => {
    const id = b.nextId();
    return Buffer.concat([f.headers(id, f.headerBlock(f.requestFields(b.path(id, false), [], 'POST')), false), f.frame(f.DATA, f.END_STREAM | f.PADDED, id, Buffer.concat([Buffer.from([4]), Buffer.from('abc'), Buffer.alloc(4)]))]);
  },
  'unknown-frame': (b) => Buffer.concat([f.frame(0xfa, 0xff, b.random.chance(0.5) ? 0 : 1, b.random.bytes(b.random.int(100))), get(b)]),
  'push-promise': (b) => f.frame(f.PUSH_PROMISE, f.END_HEADERS, 1, Buffer.concat([Buffer.from([0, 0, 0, 2]), f.headerBlock(f.requestFields('/pushed'))])),
  'goaway-then-request': (b) => Buffer.concat([f.goaway(0, 0), get(b)]),
  'hpack-bad-index': (b) => {
    const id = b.nextId();
    return f.headers(id, Buffer.concat([b.random.pick([Buffer.from([0x80]), f.hpackInt(5000, 7, 0x80), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])]), f.headerBlock(f.requestFields(b.path(id, true)))]), true);
  },
  'hpack-table-update': (b) => {
    const id = b.nextId();
    // Above the 4096 bytes Legate's SETTINGS allow, the update is a compression error.
    const size = b.random.pick([0, 4096, 1 << 20, 0x7fffffff]);
    return f.headers(id, Buffer.concat([f.hpackInt(size, 5, 0x20), f.headerBlock(f.requestFields(b.path(id, size > 4096)))]), true);
  },
  'hpack-bad-huffman': (b) => {
    const id = b.nextId();
    return f.headers(id, Buffer.concat([f.headerBlock(f.requestFields(b.path(id, true))), Buffer.from([0x00, 0x81, 0xff, 0x01, 0x61])]), true);
  },
  'hpack-truncated': (b) => {
    const id = b.nextId();
    const block = f.headerBlock(f.requestFields(b.path(id, true)));
    return f.headers(id, Buffer.concat([block, Buffer.from([0x00, 0x7f])]), true);
  },
  'hpack-indexed-fields': (b) => {
    const id = b.nextId();
    // :method GET (2), :scheme http (6), :path / (4) from the static table, then literals.
    return f.headers(id, Buffer.concat([Buffer.from([0x82, 0x86]), f.headerBlock([[':authority', 'fuzz.test'], [':path', b.path(id, false)]])]), true);
  },
};
const STEP_NAMES = Object.keys(STEPS);

export function generateCase(index: number, random: Random): Http2Case {
  const mutated = random.chance(0.3);
  let id = -1;
  const builder: Builder = {
    random,
    nextId: () => (id += 2),
    // Once mutated, no request's fate is known: /h2m/ for all.
    path: (stream, refuse) => `/${mutated ? 'h2m' : refuse ? 'h2x' : 'h2'}/${index}/${stream}`,
  };
  const notes: string[] = [];
  const parts: Buffer[] = [];
  if (random.chance(0.95)) parts.push(f.settings(random.chance(0.7) ? [] : [[4, random.pick([0, 1, 65535, 0x7fffffff])], [2, 0]]));
  for (let i = random.range(1, 5); i > 0; i--) {
    const name = random.chance(0.25) ? 'get' : random.pick(STEP_NAMES);
    notes.push(name);
    parts.push(STEPS[name](builder));
  }
  let body: Buffer = Buffer.concat(parts);
  if (mutated) body = mutateBytes(body, random);
  const input = Buffer.concat([f.PREFACE, body]);
  return { index, notes, input, splits: splitOffsets(input.length, random), mutated, pauseReading: notes.some((n) => n.endsWith('flood')) && random.chance(0.5) };
}
