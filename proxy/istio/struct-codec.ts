// google.protobuf.Struct in protobuf's binary form, which Istio's x-envoy-peer-metadata header
// carries (base64), and the google.protobuf.Any that wraps one in Istio's TCP metadata exchange.
// Only what a Struct holds: fields (map<string, Value>) and Values (null, number, string, bool,
// struct, list). Encoding is deterministic (fields sorted by key), as Istio's.
type Value = null | number | string | boolean | StructValue | Value[];
export interface StructValue {
  [key: string]: Value;
}

// ---- encoding ----

function varint(n: number, out: number[]): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function lengthDelimited(field: number, bytes: number[] | Buffer, out: number[]): void {
  varint((field << 3) | 2, out);
  varint(bytes.length, out);
  for (const b of bytes) out.push(b);
}

function encodeValue(value: Value): number[] {
  const out: number[] = [];
  if (value === null) varint((1 << 3) | 0, out), out.push(0);
  else if (typeof value === 'number') {
    varint((2 << 3) | 1, out);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    out.push(...b);
  } else if (typeof value === 'string') lengthDelimited(3, Buffer.from(value, 'utf8'), out);
  else if (typeof value === 'boolean') varint((4 << 3) | 0, out), out.push(value ? 1 : 0);
  else if (Array.isArray(value)) lengthDelimited(6, value.flatMap((v) => { const o: number[] = []; lengthDelimited(1, encodeValue(v), o); return o; }), out);
  else lengthDelimited(5, encodeStructFields(value), out);
  return out;
}

function encodeStructFields(struct: StructValue): number[] {
  const out: number[] = [];
  for (const key of Object.keys(struct).sort()) {
    const entry: number[] = [];
    lengthDelimited(1, Buffer.from(key, 'utf8'), entry);
    lengthDelimited(2, encodeValue(struct[key]), entry);
    lengthDelimited(1, entry, out);
  }
  return out;
}

export function encodeStruct(struct: StructValue): Buffer {
  return Buffer.from(encodeStructFields(struct));
}

// ---- decoding ----

class Reader {
  pos = 0;
  readonly buf: Buffer;
  readonly end: number;
  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    throw new Error('varint too long');
  }
  sub(): Reader {
    const length = this.varint();
    if (this.pos + length > this.end) throw new Error('truncated field');
    const r = new Reader(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return r;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.sub();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`wire type ${wire}`);
    if (this.pos > this.end) throw new Error('truncated field');
  }
}

function decodeValue(r: Reader, depth: number): Value {
  if (depth > 32) throw new Error('nested too deep');
  let value: Value = null;
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) (r.varint(), (value = null));
    else if (field === 2 && wire === 1) {
      if (r.pos + 8 > r.end) throw new Error('truncated double');
      value = r.buf.readDoubleLE(r.pos);
      r.pos += 8;
    } else if (field === 3 && wire === 2) {
      const s = r.sub();
      value = s.buf.toString('utf8', s.pos, s.end);
    } else if (field === 4 && wire === 0) value = r.varint() !== 0;
    else if (field === 5 && wire === 2) value = decodeFields(r.sub(), depth + 1);
    else if (field === 6 && wire === 2) {
      const list = r.sub();
      const items: Value[] = [];
      while (list.pos < list.end) {
        const t = list.varint();
        if (t >>> 3 === 1 && (t & 7) === 2) items.push(decodeValue(list.sub(), depth + 1));
        else list.skip(t & 7);
      }
      value = items;
    } else r.skip(wire);
  }
  return value;
}

function decodeFields(r: Reader, depth: number): StructValue {
  const struct: StructValue = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const entry = r.sub();
    let key = '';
    let value: Value = null;
    while (entry.pos < entry.end) {
      const t = entry.varint();
      if (t >>> 3 === 1 && (t & 7) === 2) {
        const s = entry.sub();
        key = s.buf.toString('utf8', s.pos, s.end);
      } else if (t >>> 3 === 2 && (t & 7) === 2) value = decodeValue(entry.sub(), depth);
      else entry.skip(t & 7);
    }
    struct[key] = value;
  }
  return struct;
}

/** A Struct from its binary form; throws on bytes that are not one. */
export function decodeStruct(bytes: Buffer): StructValue {
  return decodeFields(new Reader(bytes), 0);
}

/** A google.protobuf.Any: type_url (1) and value (2). */
export function encodeAny(typeUrl: string, value: Buffer): Buffer {
  const out: number[] = [];
  lengthDelimited(1, Buffer.from(typeUrl, 'utf8'), out);
  lengthDelimited(2, value, out);
  return Buffer.from(out);
}

export function decodeAny(bytes: Buffer): { typeUrl: string; value: Buffer } {
  const r = new Reader(bytes);
  let typeUrl = '';
  let value: Buffer = Buffer.alloc(0);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | 2)) {
      const s = r.sub();
      typeUrl = s.buf.toString('utf8', s.pos, s.end);
    } else if (tag === ((2 << 3) | 2)) {
      const s = r.sub();
      value = s.buf.subarray(s.pos, s.end);
    } else r.skip(tag & 7);
  }
  return { typeUrl, value };
}
