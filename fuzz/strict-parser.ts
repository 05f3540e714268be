// A strict HTTP/1.1 parser of our own, written apart from llhttp so the fuzzer's oracle does not
// share the proxy's parser: what Legate sends upstream (and back downstream) must pass it. It
// accepts only unambiguous framing: CRLF line ends, token header names with no space before the
// colon, no obs-fold, no CR/LF/NUL in values, at most one Content-Length (digits only, below 2^63), a
// Transfer-Encoding of exactly "chunked" and never both, chunk sizes in hex without extensions.

export interface Head {
  /** Request: method, target, version. Response: version, status, reason. */
  startLine: string[];
  headers: [string, string][];
}

export interface Message {
  head: Head;
  body: Buffer;
  trailers: [string, string][];
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// VCHAR, SP, HTAB and obs-text; nothing else (no CR, LF, NUL, other controls).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MAX_HEAD = 256 * 1024;

export class StrictParseError extends Error {}

export function header(head: Head, name: string): string[] {
  const lower = name.toLowerCase();
  return head.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

type Phase = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'until-close' | 'failed';

/**
 * An incremental parser for a stream of requests (what an upstream receives) or responses (what a
 * client receives; `bodiless(head)` says when a response has no body, e.g. to HEAD).
 */
export class StrictParser {
  readonly kind: 'request' | 'response';
  private readonly bodiless: (head: Head) => boolean;
  private buffer: Buffer = Buffer.alloc(0);
  private phase: Phase = 'head';
  private head: Head | null = null;
  private body: Buffer[] = [];
  private trailers: [string, string][] = [];
  private remaining = 0;
  /** Whether bytes of an unfinished message were seen. */
  get inMessage(): boolean {
    return this.phase !== 'head' || this.buffer.length > 0;
  }

  constructor(kind: 'request' | 'response', bodiless: (head: Head) => boolean = () => false) {
    this.kind = kind;
    this.bodiless = bodiless;
  }

  /** Parses what it can; returns the messages completed. Throws StrictParseError on bad framing. */
  feed(chunk: Buffer): Message[] {
    if (this.phase === 'failed') throw new StrictParseError('input after a parse error');
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: Message[] = [];
    try {
      for (;;) {
        const message = this.step();
        if (message === 'more') break;
        if (message !== null) out.push(message);
      }
    } catch (err) {
      this.phase = 'failed';
      throw err;
    }
    return out;
  }

  /** The peer closed: a close-delimited body ends here. Returns it, if any. */
  end(): Message | null {
    if (this.phase !== 'until-close') return null;
    const message = this.finish();
    return message;
  }

  // One step of the state machine: a message, null (progress, no message) or 'more' (need bytes).
  private step(): Message | null | 'more' {
    switch (this.phase) {
      case 'head':
        return this.parseHead();
      case 'length': {
        if (this.buffer.length === 0 && this.remaining > 0) return 'more';
        const take = Math.min(this.remaining, this.buffer.length);
        this.body.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        return this.remaining === 0 ? this.finish() : 'more';
      }
      case 'chunk-size': {
        const line = this.line();
        if (line === null) return 'more';
        if (!/^[0-9a-fA-F]{1,15}$/.test(line)) throw new StrictParseError(`bad chunk size line ${JSON.stringify(line)}`);
        this.remaining = parseInt(line, 16);
        this.phase = this.remaining === 0 ? 'trailers' : 'chunk-data';
        return null;
      }
      case 'chunk-data': {
        if (this.buffer.length === 0) return 'more';
        const take = Math.min(this.remaining, this.buffer.length);
        this.body.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.phase = 'chunk-crlf';
        return null;
      }
      case 'chunk-crlf': {
        if (this.buffer.length < 2) return 'more';
        if (this.buffer[0] !== 13 || this.buffer[1] !== 10) throw new StrictParseError('chunk data not followed by CRLF');
        this.buffer = this.buffer.subarray(2);
        this.phase = 'chunk-size';
        return null;
      }
      case 'trailers': {
        const line = this.line();
        if (line === null) return 'more';
        if (line === '') return this.finish();
        this.trailers.push(this.field(line));
        return null;
      }
      case 'until-close':
        this.body.push(this.buffer);
        this.buffer = Buffer.alloc(0);
        return 'more';
      case 'failed':
        throw new StrictParseError('parser failed');
    }
  }

  /** One CRLF-terminated line, or null when it has not all arrived. A bare CR or LF is an error. */
  private line(): string | null {
    const lf = this.buffer.indexOf(10);
    const cr = this.buffer.indexOf(13);
    if (lf < 0) {
      if (cr >= 0 && cr < this.buffer.length - 1) throw new StrictParseError('bare CR');
      if (this.buffer.length > MAX_HEAD) throw new StrictParseError('line too long');
      return null;
    }
    if (lf === 0 || this.buffer[lf - 1] !== 13) throw new StrictParseError('bare LF');
    if (cr >= 0 && cr < lf - 1) throw new StrictParseError('bare CR');
    const text = this.buffer.toString('latin1', 0, lf - 1);
    this.buffer = this.buffer.subarray(lf + 1);
    return text;
  }

  private field(line: string): [string, string] {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new StrictParseError(`header line without a name: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    if (!TCHAR.test(name)) throw new StrictParseError(`bad header name ${JSON.stringify(name)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw new StrictParseError(`bad characters in header ${name}: ${JSON.stringify(value)}`);
    return [name, value];
  }

  private parseHead(): Message | null | 'more' {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.buffer.length > MAX_HEAD) throw new StrictParseError('head too large');
      // A bare LF or CR shows early, without waiting for the end of the head.
      const lf = this.buffer.indexOf(10);
      if (lf === 0 || (lf > 0 && this.buffer[lf - 1] !== 13)) throw new StrictParseError('bare LF in head');
      return 'more';
    }
    const text = this.buffer.toString('latin1', 0, end);
    this.buffer = this.buffer.subarray(end + 4);
    const lines = text.split('\r\n');
    for (const l of lines) if (/[\r\n]/.test(l)) throw new StrictParseError('bare CR or LF in head');
    const first = lines.shift()!;
    const head: Head = { startLine: this.startLine(first), headers: [] };
    for (const l of lines) {
      if (l.startsWith(' ') || l.startsWith('\t')) throw new StrictParseError('obs-fold');
      head.headers.push(this.field(l));
    }
    this.head = head;
    this.body = [];
    this.trailers = [];
    return this.framing(head);
  }

  private startLine(line: string): string[] {
    if (this.kind === 'request') {
      const parts = line.split(' ');
      if (parts.length !== 3) throw new StrictParseError(`bad request line ${JSON.stringify(line)}`);
      const [method, target, version] = parts;
      if (!TCHAR.test(method)) throw new StrictParseError(`bad method ${JSON.stringify(method)}`);
      // Visible ASCII, and obs-text: nghttp2 lets bytes 0x80-0xff through in :path and Legate
      // forwards them (an HTTP/1 client sending the same gets 400 from llhttp). Odd, not ambiguous.
      if (!/^[\x21-\x7e\x80-\xff]+$/.test(target)) throw new StrictParseError(`bad request target ${JSON.stringify(target)}`);
      if (version !== 'HTTP/1.1') throw new StrictParseError(`bad version ${JSON.stringify(version)}`);
      return parts;
    }
    const m = /^(HTTP\/1\.[01]) ([1-9]\d\d) ([\t\x20-\x7e\x80-\xff]*)$/.exec(line);
    if (m === null) throw new StrictParseError(`bad status line ${JSON.stringify(line)}`);
    return [m[1], m[2], m[3]];
  }

  private framing(head: Head): Message | null {
    const lengths = header(head, 'content-length');
    const codings = header(head, 'transfer-encoding');
    if (lengths.length > 1) throw new StrictParseError(`${lengths.length} Content-Length headers`);
    if (codings.length > 1) throw new StrictParseError(`${codings.length} Transfer-Encoding headers`);
    if (lengths.length === 1 && codings.length === 1) throw new StrictParseError('Content-Length and Transfer-Encoding');
    // Digits only, and no more than a signed 64-bit count (what parsers in C and Go can hold).
    if (lengths.length === 1 && !(/^\d{1,19}$/.test(lengths[0]) && BigInt(lengths[0]) < 2n ** 63n)) throw new StrictParseError(`bad Content-Length ${JSON.stringify(lengths[0])}`);
    if (codings.length === 1 && codings[0].toLowerCase() !== 'chunked') throw new StrictParseError(`bad Transfer-Encoding ${JSON.stringify(codings[0])}`);
    if (this.kind === 'response') {
      const status = Number(head.startLine[1]);
      if (status < 200) {
        if (lengths.length + codings.length > 0) throw new StrictParseError('1xx response with framing headers');
        this.phase = 'head';
        return null; // informational: no body, not a message of its own
      }
      if (this.bodiless(head) || status === 204 || status === 304) return this.finish();
    }
    if (codings.length === 1) {
      this.phase = 'chunk-size';
      return null;
    }
    if (lengths.length === 1) {
      this.remaining = Number(lengths[0]);
      if (this.remaining === 0) return this.finish();
      this.phase = 'length';
      return null;
    }
    if (this.kind === 'response') {
      this.phase = 'until-close';
      return null;
    }
    return this.finish();
  }

  private finish(): Message {
    const message: Message = { head: this.head!, body: Buffer.concat(this.body), trailers: this.trailers };
    this.phase = 'head';
    this.head = null;
    this.body = [];
    this.trailers = [];
    return message;
  }
}
