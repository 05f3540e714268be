// Node's own llhttp binding (the C++ HTTPParser behind node:http), strict mode only. It can read a
// socket's handle directly (consume), which skips the net.Socket stream machinery on every read.
// See ../README.md for why this one and not undici's wasm build.
import { createRequire } from 'node:module';
import type { HeaderMap } from '../types.ts';

/** What execute()/finish() return on a parse error; code is llhttp's name (HPE_*). */
export interface ParseError extends Error {
  code: string;
  reason: string;
  bytesParsed: number;
}

type Callback = (...args: never[]) => unknown;

/** The native parser object; callbacks live in numeric slots (kOn*). */
export interface NativeParser {
  [slot: number]: Callback | null;
  initialize(type: number, resource: object, maxHeaderSize: number, lenientFlags: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): ParseError | undefined;
  pause(): void;
  resume(): void;
  consume(handle: object): void;
  unconsume(): void;
  getCurrentBuffer(): Buffer;
  remove(): void;
  free(): void;
  close(): void;
}

interface ParserClass {
  new (): NativeParser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  kLenientNone: number;
}

const require = createRequire(import.meta.url);
const common = require('_http_common') as { HTTPParser: ParserClass; methods: string[] };
const HTTPParser = common.HTTPParser;

export const REQUEST = HTTPParser.REQUEST;
export const RESPONSE = HTTPParser.RESPONSE;
export const kOnHeaders = HTTPParser.kOnHeaders;
export const kOnHeadersComplete = HTTPParser.kOnHeadersComplete;
export const kOnBody = HTTPParser.kOnBody;
export const kOnMessageBegin = HTTPParser.kOnMessageBegin;
export const kOnMessageComplete = HTTPParser.kOnMessageComplete;
export const kOnExecute = HTTPParser.kOnExecute;
/** llhttp's method table: kOnHeadersComplete gets an index into it. */
export const methods: readonly string[] = common.methods;

// Return values of kOnHeadersComplete (llhttp's on_headers_complete contract).
export const HEADERS_OK = 0;
/** The message has no body (a response to HEAD). */
export const HEADERS_SKIP_BODY = 1;
/** No body and the rest of the bytes are another protocol (CONNECT 2xx, upgrades). */
export const HEADERS_UPGRADE = 2;
/** HPE_PAUSED: stop right after this head; parser.resume() and execute() go on from there. */
export const HEADERS_PAUSE = 21;
/** Any other value fails the message with HPE_CB_HEADERS_COMPLETE (our own checks). */
export const HEADERS_FAIL = -1;

// The async_hooks resource each parser reports; one shared object is enough for us.
const resource = {};
// Parsers are C++ objects: keep a few freed ones for the next connections, as node:http does.
const pool: NativeParser[] = [];
const POOL_MAX = 256;

/** A strict parser of `type` (REQUEST or RESPONSE) with node's header-size limit `maxHeaderBytes`. */
export function allocParser(type: number, maxHeaderBytes: number): NativeParser {
  const parser = pool.pop() ?? new HTTPParser();
  parser.initialize(type, resource, maxHeaderBytes, HTTPParser.kLenientNone);
  return parser;
}

/** Gives a parser back once its connection closed (never from inside one of its callbacks). */
export function releaseParser(parser: NativeParser): void {
  parser.unconsume();
  parser[kOnHeaders] = null;
  parser[kOnHeadersComplete] = null;
  parser[kOnBody] = null;
  parser[kOnMessageComplete] = null;
  parser[kOnExecute] = null;
  parser.remove();
  if (pool.length < POOL_MAX) {
    parser.free();
    pool.push(parser);
  } else {
    parser.close();
  }
}

export function isParseError(ret: unknown): ret is ParseError {
  return typeof ret === 'object' && ret !== null;
}

/**
 * Adds llhttp's flat [name, value, ...] list to `map` (lower-case names, repeats as arrays). An
 * identical repeated Host is kept once; returns false when two Host values differ.
 */
export function addHeaders(map: HeaderMap, flat: readonly string[]): boolean {
  let hostOk = true;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    const value = flat[i + 1];
    const prev = map[name];
    if (prev === undefined) map[name] = value;
    else if (name === 'host') hostOk &&= prev === value;
    else if (typeof prev === 'string') map[name] = [prev, value];
    else prev.push(value);
  }
  return hostOk;
}

/** A header map without a prototype: a header named __proto__ is just a header. */
export function newHeaderMap(): HeaderMap {
  return Object.create(null) as HeaderMap;
}

/** Whether a Connection header value lists `token` (case-insensitive). */
export function connectionHas(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  const text = typeof value === 'string' ? value : value.join(',');
  for (const part of text.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}
