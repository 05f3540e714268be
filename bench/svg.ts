// A latency percentile plot as a standalone SVG: one line per target across p50..max, on a log
// scale because tails span decades. Written by hand so bench needs no plotting dependency.

export interface LatencySeries {
  label: string;
  color: string;
  /** Milliseconds at each of PERCENTILE_LABELS. */
  values: number[];
}

export const PERCENTILE_LABELS = ['p50', 'p90', 'p99', 'p99.9', 'max'];
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

const WIDTH = 760;
const HEIGHT = 440;
const PLOT = { left: 70, right: WIDTH - 210, top: 50, bottom: HEIGHT - 60 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatMs(value: number): string {
  return value >= 1 ? String(value) : value.toPrecision(1);
}

export function latencyPlot(title: string, series: readonly LatencySeries[]): string {
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const low = Math.floor(Math.log10(Math.min(...all, 1)));
  const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...all, 1))));
  const x = (i: number) => PLOT.left + ((PLOT.right - PLOT.left) * i) / (PERCENTILE_LABELS.length - 1);
  const y = (ms: number) =>
    PLOT.bottom - ((PLOT.bottom - PLOT.top) * (Math.log10(Math.max(ms, 10 ** low)) - low)) / (high - low);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="28" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (let decade = low; decade <= high; decade++) {
    for (const step of [1, 2, 5]) {
      const value = step * 10 ** decade;
      if (decade === high && step > 1) break;
      const at = y(value).toFixed(1);
      const major = step === 1;
      out.push(
        `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${at}" y2="${at}" stroke="${major ? '#bbb' : '#eee'}"/>`,
      );
      if (major) out.push(`<text x="${PLOT.left - 8}" y="${at}" dy="4" text-anchor="end">${formatMs(value)}</text>`);
    }
  }
  PERCENTILE_LABELS.forEach((label, i) => {
    out.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${x(i)}" y="${PLOT.bottom + 20}" text-anchor="middle">${label}</text>`);
  });
  out.push(
    `<text transform="translate(20 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 15}" text-anchor="middle">percentile</text>`,
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888"/>`,
  );
  series.forEach((s, index) => {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const point of points) {
      const [px, py] = point.split(',');
      out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${s.color}"/>`);
    }
    const legendY = PLOT.top + 10 + index * 20;
    out.push(
      `<line x1="${PLOT.right + 15}" x2="${PLOT.right + 40}" y1="${legendY}" y2="${legendY}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${PLOT.right + 46}" y="${legendY}" dy="4">${escapeXml(s.label)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
