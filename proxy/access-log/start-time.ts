// %START_TIME(FORMAT)%: Envoy's strftime-style formats in UTC, compiled once into parts. Beyond
// strftime, Envoy accepts %s (epoch seconds), %f / %1f..%9f (fraction of a second, 9 digits by
// default) and absl's %E1S..%E9S / %E*S (seconds with a fraction). Without a format Envoy prints
// ISO-8601 with milliseconds: 2024-01-01T00:00:00.000Z.

type Piece = string | ((d: Date, ms: number) => string);

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));
const pad3 = (n: number) => String(n).padStart(3, '0');

/** Nine digits of the fraction of the second (nanoseconds) of an epoch-ms time. */
function fraction9(ms: number): string {
  const frac = ((ms % 1000) + 1000) % 1000;
  return String(Math.floor(frac * 1e6)).padStart(9, '0');
}

function dayOfYear(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

const SIMPLE: Record<string, (d: Date, ms: number) => string> = {
  Y: (d) => String(d.getUTCFullYear()),
  y: (d) => pad2(d.getUTCFullYear() % 100),
  m: (d) => pad2(d.getUTCMonth() + 1),
  d: (d) => pad2(d.getUTCDate()),
  e: (d) => String(d.getUTCDate()).padStart(2, ' '),
  H: (d) => pad2(d.getUTCHours()),
  I: (d) => pad2(d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12),
  p: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
  M: (d) => pad2(d.getUTCMinutes()),
  S: (d) => pad2(d.getUTCSeconds()),
  j: (d) => pad3(dayOfYear(d)),
  a: (d) => DAYS[d.getUTCDay()].slice(0, 3),
  A: (d) => DAYS[d.getUTCDay()],
  b: (d) => MONTHS[d.getUTCMonth()].slice(0, 3),
  h: (d) => MONTHS[d.getUTCMonth()].slice(0, 3),
  B: (d) => MONTHS[d.getUTCMonth()],
  u: (d) => String(d.getUTCDay() === 0 ? 7 : d.getUTCDay()),
  w: (d) => String(d.getUTCDay()),
  F: (d) => `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`,
  T: (d) => `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`,
  R: (d) => `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`,
  D: (d) => `${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${pad2(d.getUTCFullYear() % 100)}`,
  z: () => '+0000',
  Z: () => 'UTC',
  s: (_d, ms) => String(Math.floor(ms / 1000)),
  f: (_d, ms) => fraction9(ms),
  n: () => '\n',
  t: () => '\t',
  '%': () => '%',
};

/** Compiles a START_TIME format; '' means Envoy's default ISO-8601 form. */
export function compileStartTime(format: string): (epochMs: number) => string {
  if (format === '') return isoTime();
  const pieces: Piece[] = [];
  let literal = '';
  const add = (p: Piece) => {
    if (literal !== '') pieces.push(literal);
    literal = '';
    pieces.push(p);
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%' || i === format.length - 1) {
      literal += c;
      continue;
    }
    const next = format[i + 1];
    const after = format[i + 2];
    if (next >= '1' && next <= '9' && after === 'f') {
      const digits = Number(next);
      add((_d, ms) => fraction9(ms).slice(0, digits));
      i += 2;
    } else if (next === 'E' && ((after >= '1' && after <= '9') || after === '*') && format[i + 3] === 'S') {
      add((d, ms) => {
        const frac = fraction9(ms);
        const shown = after === '*' ? frac.replace(/0+$/, '') : frac.slice(0, Number(after));
        return shown === '' ? pad2(d.getUTCSeconds()) : `${pad2(d.getUTCSeconds())}.${shown}`;
      });
      i += 3;
    } else if (SIMPLE[next] !== undefined) {
      add(SIMPLE[next]);
      i += 1;
    } else {
      // Not a conversion strftime knows: kept as written.
      literal += c;
    }
  }
  if (literal !== '') pieces.push(literal);
  // Requests under load share their millisecond: format each one once.
  let lastMs = NaN;
  let last = '';
  return (ms) => {
    if (ms === lastMs) return last;
    const d = new Date(ms);
    let out = '';
    for (const p of pieces) out += typeof p === 'string' ? p : p(d, ms);
    lastMs = ms;
    last = out;
    return out;
  };
}

// toISOString costs about a microsecond; the part up to the seconds is reused for a whole second.
function isoTime(): (epochMs: number) => string {
  let second = NaN;
  let prefix = '';
  return (ms) => {
    const whole = Math.floor(ms);
    const s = Math.floor(whole / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, -4); // drop "000Z"
    }
    return prefix + pad3(whole - s * 1000) + 'Z';
  };
}
