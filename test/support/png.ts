// Decodes the PNGs a browser's screenshot gives (8-bit RGB or RGBA, not interlaced) with node:zlib,
// so a test can look at the pixels: how many colours, how much of the image is one colour.
import { inflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  channels: number; // 3 (RGB) or 4 (RGBA)
  pixels: Buffer; // rows of width * channels bytes, filters undone
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function decodePng(png: Buffer): Image {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  for (let at = 8; at + 8 <= png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, colour, , , interlace] = body.subarray(8, 13);
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`PNG depth ${depth} colour type ${colour} interlace ${interlace} not decoded here`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      data.push(body);
    } else if (type === 'IEND') {
      break;
    }
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels] : 0;
      const b = up[x];
      const c = x >= channels ? up[x - channels] : 0;
      const v = line[x];
      switch (filter) {
        case 0: out[x] = v; break;
        case 1: out[x] = v + a; break;
        case 2: out[x] = v + b; break;
        case 3: out[x] = v + ((a + b) >> 1); break;
        case 4: out[x] = v + paeth(a, b, c); break;
        default: throw new Error(`PNG filter ${filter}`);
      }
    }
  }
  return { width, height, channels, pixels };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** How many distinct colours, and the share of pixels the most common one covers (0..1). */
export function colourSpread(image: Image): { colours: number; dominantShare: number } {
  const counts = new Map<number, number>();
  const { pixels, channels } = image;
  for (let i = 0; i + 2 < pixels.length; i += channels) {
    const key = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2];
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let top = 0;
  for (const n of counts.values()) top = Math.max(top, n);
  return { colours: counts.size, dominantShare: top / (image.width * image.height) };
}
