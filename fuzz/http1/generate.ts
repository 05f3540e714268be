// HTTP/1 inputs: a connection's worth of pipelined requests, valid ones and framing or header
// tricks, sometimes mutated byte by byte and split into several writes. Each request carries
// /fz/<case>/<index> in its target so responses and upstream arrivals can be matched to it.
import { mutateBytes, splitOffsets } from '../mutate.ts';
import type { Random } from '../random.ts';

/**
 * What Legate must do with a request: serve it (forward, relay the 2xx), reject it (a 4xx, nothing
 * of it or after it reaches the upstream, the connection closes), or either.
 */
export type Expect = 'serve' | 'reject' | 'any';

export interface RequestSpec {
  note: string;
  expect: Expect;
  /** Nothing after it on the connection is served (Connection: close, HTTP/1.0, upgrades, rejects). */
  last: boolean;
}

export interface Http1Case {
  index: number;
  requests: RequestSpec[];
  input: Buffer;
  /** Offsets where the input is split into separate writes. */
  splits: number[];
  mutated: boolean;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];

interface Parts {
  method: string;
  target: string;
  version: string;
  headers: string[]; // whole lines without CRLF
  body: string; // already framed
}

function base(random: Random, path: string): Parts {
  const method = random.pick(METHODS);
  const headers = ['Host: fuzz.test', 'User-Agent: legate-fuzz'];
  for (let i = random.int(4); i > 0; i--) headers.push(`X-Fuzz-${random.int(1000)}: ${'v'.repeat(random.int(40))}`);
  let body = '';
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const text = 'b'.repeat(random.int(300));
    if (random.chance(0.7)) {
      headers.push(`Content-Length: ${text.length}`);
      body = text;
    } else {
      headers.push('Transfer-Encoding: chunked');
      body = chunked(text, random) + '0\r\n\r\n';
    }
  }
  return { method, target: path, version: 'HTTP/1.1', headers, body };
}

function chunked(text: string, random: Random): string {
  let out = '';
  let at = 0;
  while (at < text.length) {
    const n = Math.min(text.length - at, random.range(1, 120));
    out += `${n.toString(16)}\r\n${text.slice(at, at + n)}\r\n`;
    at += n;
  }
  return out;
}

function render(p: Parts): string {
  return `${p.method} ${p.target} ${p.version}\r\n${p.headers.map((h) => h + '\r\n').join('')}\r\n${p.body}`;
}

/** A POST whose framing headers are given; body as given. */
function post(path: string, framing: string[], body: string): string {
  return render({ method: 'POST', target: path, version: 'HTTP/1.1', headers: ['Host: fuzz.test', ...framing], body });
}

type Trick = (random: Random, path: string) => { text: string; expect: Expect; last?: boolean };

const SMUGGLED = 'GET /fz-smuggled HTTP/1.1\r\nHost: fuzz.test\r\n\r\n';

// Framing and header tricks. Every 'reject' here is a request whose framing or head is ambiguous
// or malformed: Legate must answer it 4xx and never forward it.
const TRICKS: Record<string, Trick> = {
  'cl-te': (_r, p) => ({ text: post(p, ['Content-Length: 5', 'Transfer-Encoding: chunked'], '0\r\n\r\n' + SMUGGLED), expect: 'reject' }),
  'te-cl': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked', 'Content-Length: 40'], '0\r\n\r\n' + SMUGGLED), expect: 'reject' }),
  'two-cl-differ': (_r, p) => ({ text: post(p, ['Content-Length: 3', 'Content-Length: 5'], 'abcde'), expect: 'reject' }),
  'cl-list-differ': (_r, p) => ({ text: post(p, ['Content-Length: 3, 5'], 'abcde'), expect: 'reject' }),
  'cl-dup-same': (_r, p) => ({ text: post(p, ['Content-Length: 3', 'Content-Length: 3'], 'abc'), expect: 'any' }),
  'cl-plus': (_r, p) => ({ text: post(p, ['Content-Length: +3'], 'abc'), expect: 'reject' }),
  'cl-negative': (_r, p) => ({ text: post(p, ['Content-Length: -3'], 'abc'), expect: 'reject' }),
  'cl-hex': (_r, p) => ({ text: post(p, ['Content-Length: 0x3'], 'abc'), expect: 'reject' }),
  'cl-inner-space': (_r, p) => ({ text: post(p, ['Content-Length: 1 2'], 'abcdefghijkl'), expect: 'reject' }),
  'cl-overflow': (_r, p) => ({ text: post(p, ['Content-Length: 99999999999999999999999'], 'abc'), expect: 'reject' }),
  'cl-leading-zeros': (_r, p) => ({ text: post(p, ['Content-Length: 003'], 'abc'), expect: 'any' }),
  'te-chunked-identity': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked, identity'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-identity-chunked': (_r, p) => ({ text: post(p, ['Transfer-Encoding: identity, chunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-xchunked': (_r, p) => ({ text: post(p, ['Transfer-Encoding: xchunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-chunkedx': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunkedx'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-twice': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-gzip-chunked': (_r, p) => ({ text: post(p, ['Transfer-Encoding: gzip, chunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-chunked-gzip': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked, gzip'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-space-before-colon': (_r, p) => ({ text: post(p, ['Transfer-Encoding : chunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-obs-fold': (_r, p) => ({ text: post(p, ['Transfer-Encoding:', ' chunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-vtab': (_r, p) => ({ text: post(p, ['Transfer-Encoding:\x0bchunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'te-upper': (_r, p) => ({ text: post(p, ['Transfer-Encoding: CHUNKED'], '3\r\nabc\r\n0\r\n\r\n'), expect: 'serve' }),
  'te-http10': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n').replace('HTTP/1.1', 'HTTP/1.0'), expect: 'any', last: true }),
  'chunk-size-overflow': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], 'fffffffffffffffffff\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'chunk-size-junk': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], 'zz\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'chunk-size-negative': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '-3\r\nabc\r\n0\r\n\r\n'), expect: 'reject' }),
  'chunk-no-crlf': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '3\r\nabcX0\r\n\r\n'), expect: 'reject' }),
  'chunk-too-long': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '3\r\nabcdef\r\n0\r\n\r\n'), expect: 'reject' }),
  'chunk-bare-lf': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '3\nabc\n0\n\n'), expect: 'reject' }),
  'chunk-extension': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '3;name=value\r\nabc\r\n0;last\r\n\r\n'), expect: 'serve' }),
  'chunk-leading-zeros': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '0003\r\nabc\r\n0\r\n\r\n'), expect: 'any' }),
  trailers: (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n'), expect: 'serve' }),
  'trailer-content-length': (_r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nContent-Length: 50\r\n\r\n'), expect: 'any' }),
  'chunked-get': (_r, p) => ({ text: render({ method: 'GET', target: p, version: 'HTTP/1.1', headers: ['Host: fuzz.test', 'Transfer-Encoding: chunked'], body: '3\r\nabc\r\n0\r\n\r\n' }), expect: 'serve' }),
  'many-chunks': (r, p) => ({ text: post(p, ['Transfer-Encoding: chunked'], '1\r\nx\r\n'.repeat(r.range(50, 400)) + '0\r\n\r\n'), expect: 'serve' }),
  'bare-lf-head': (_r, p) => ({ text: `GET ${p} HTTP/1.1\nHost: fuzz.test\n\n`, expect: 'reject' }),
  'bare-lf-one-header': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\nX-A: b\r\n\r\n`, expect: 'reject' }),
  'bare-cr': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\rX-A: b\r\n\r\n`, expect: 'reject' }),
  'nul-in-value': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-A: a\0b\r\n\r\n`, expect: 'reject' }),
  'nul-in-name': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX\0A: b\r\n\r\n`, expect: 'reject' }),
  'obs-fold': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-A: one\r\n two\r\n\r\n`, expect: 'reject' }),
  'space-before-colon': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-A : b\r\n\r\n`, expect: 'reject' }),
  'bad-token-name': (r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX${r.pick(['(', ')', '<', '@', ',', ';', '"', '/', '[', '{', ' '])}A: b\r\n\r\n`, expect: 'reject' }),
  'empty-header-name': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\n: b\r\n\r\n`, expect: 'reject' }),
  'no-colon': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-A b\r\n\r\n`, expect: 'reject' }),
  'ctl-in-value': (r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-A: a${String.fromCharCode(r.pick([1, 8, 11, 12, 27, 127]))}b\r\n\r\n`, expect: 'reject' }),
  'tab-in-value': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-A: a\tb\r\n\r\n`, expect: 'serve' }),
  'obs-text-value': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-A: caf\xe9\r\n\r\n`, expect: 'any' }),
  'empty-value': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-A:\r\n\r\n`, expect: 'serve' }),
  'underscore-header': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX_Under: 1\r\n\r\n`, expect: 'any' }),
  'two-host-differ': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n`, expect: 'reject' }),
  'no-host': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\n\r\n`, expect: 'any' }),
  'huge-header': (r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-Big: ${'a'.repeat(r.range(61, 120) * 1024)}\r\n\r\n`, expect: 'reject' }),
  'big-header-ok': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nX-Big: ${'a'.repeat(30 * 1024)}\r\n\r\n`, expect: 'serve' }),
  'many-headers': (r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\n${Array.from({ length: r.range(101, 400) }, (_, i) => `X-H${i}: ${i}\r\n`).join('')}\r\n`, expect: 'reject' }),
  'long-target': (r, p) => ({ text: `GET ${p}/${'p'.repeat(r.range(1, 16) * 1024)} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`, expect: 'serve' }),
  // Envoy (allow_absolute_url) routes on the URL's path; Legate keeps the absolute form as :path
  // today, so no prefix route matches (404). A divergence, not a framing fault.
  'absolute-form': (_r, p) => ({ text: `GET http://fuzz.test${p} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`, expect: 'any' }),
  'invalid-method': (r, p) => ({ text: `${r.pick(['G@T', 'GE T', 'get', 'FOO', '\x00GET', 'GET\x7f'])} ${p} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`, expect: 'reject' }),
  'bad-version': (r, p) => ({ text: `GET ${p} ${r.pick(['HTTP/x.1', 'HTTX/1.1', 'HTTP/1.1x', 'HTTP/11'])}\r\nHost: fuzz.test\r\n\r\n`, expect: 'reject' }),
  'odd-version': (r, p) => ({ text: `GET ${p} ${r.pick(['HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/9.9'])}\r\nHost: fuzz.test\r\n\r\n`, expect: 'any', last: true }),
  // llhttp takes several spaces between method and target; unusual, not ambiguous.
  'double-space': (_r, p) => ({ text: `GET  ${p} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`, expect: 'any' }),
  'tab-separator': (_r, p) => ({ text: `GET\t${p} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`, expect: 'reject' }),
  'leading-crlf': (_r, p) => ({ text: `\r\nGET ${p} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`, expect: 'any' }),
  'http10': (_r, p) => ({ text: `GET ${p} HTTP/1.0\r\nHost: fuzz.test\r\n\r\n`, expect: 'serve', last: true }),
  'http10-keep-alive': (_r, p) => ({ text: `GET ${p} HTTP/1.0\r\nHost: fuzz.test\r\nConnection: keep-alive\r\n\r\n`, expect: 'serve' }),
  'connection-close': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n\r\n`, expect: 'serve', last: true }),
  'expect-100': (_r, p) => ({ text: post(p, ['Expect: 100-continue', 'Content-Length: 3'], 'abc'), expect: 'serve' }),
  'expect-other': (_r, p) => ({ text: post(p, ['Expect: 200-ok', 'Content-Length: 3'], 'abc'), expect: 'any' }),
  upgrade: (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`, expect: 'any', last: true }),
  'upgrade-h2c': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`, expect: 'any' }),
  connect: (_r) => ({ text: 'CONNECT fuzz.test:443 HTTP/1.1\r\nHost: fuzz.test:443\r\n\r\n', expect: 'any', last: true }),
  'options-star': (_r) => ({ text: 'OPTIONS * HTTP/1.1\r\nHost: fuzz.test\r\n\r\n', expect: 'any' }),
  'head-with-cl': (_r, p) => ({ text: `HEAD ${p} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`, expect: 'serve' }),
  'hop-by-hop': (_r, p) => ({ text: `GET ${p} HTTP/1.1\r\nHost: fuzz.test\r\nConnection: X-Drop, keep-alive\r\nX-Drop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n\r\n`, expect: 'serve' }),
  'body-without-length': (_r, p) => ({ text: `POST ${p} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`, expect: 'serve' }),
  'h2-preface': (_r) => ({ text: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', expect: 'any', last: true }),
};
const TRICK_NAMES = Object.keys(TRICKS);

export function generateCase(index: number, random: Random): Http1Case {
  const count = random.range(1, 4);
  const requests: RequestSpec[] = [];
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = `/fz/${index}/${i}`;
    if (random.chance(0.55)) {
      const parts = base(random, path);
      texts.push(render(parts));
      requests.push({ note: `valid ${parts.method}`, expect: 'serve', last: false });
    } else {
      const name = random.pick(TRICK_NAMES);
      const trick = TRICKS[name](random, path);
      texts.push(trick.text);
      requests.push({ note: name, expect: trick.expect, last: trick.last === true || trick.expect === 'reject' });
    }
    if (requests[i].last) break;
  }
  let input: Buffer = Buffer.from(texts.join(''), 'latin1');
  const mutated = random.chance(0.35);
  if (mutated) input = mutateBytes(input, random);
  return { index, requests, input, splits: splitOffsets(input.length, random), mutated };
}
