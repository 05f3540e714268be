// Time series as a standalone SVG: panels stacked one above the other, each with its own linear y
// axis and the same x axis (minutes), one line per series. Written by hand, like bench/svg.ts.
import { PALETTE } from '../svg.ts';

export interface Series {
  label: string;
  /** [x (minutes), y] pairs. */
  points: [number, number][];
  /** A dashed line (a fitted trend, a second figure of the same thing). */
  dashed?: boolean;
  /** Draw in the colour of the series with this label (default: its own label's colour). */
  colorOf?: string;
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
}

const WIDTH = 820;
const PANEL_HEIGHT = 260;
const PLOT = { left: 70, right: WIDTH - 230, top: 34, bottom: PANEL_HEIGHT - 40 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round step that cuts [0, span] into about `count` parts. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return step ?? 10 * magnitude;
}

function panel(p: Panel, xMax: number, offsetY: number, colors: Map<string, string>): string[] {
  const ys = p.series.flatMap((s) => s.points.map(([, y]) => y));
  const yMax = Math.max(1, ...ys) * 1.1;
  const yStep = niceStep(yMax, 5);
  const top = Math.ceil(yMax / yStep) * yStep;
  const x = (v: number) => PLOT.left + ((PLOT.right - PLOT.left) * v) / xMax;
  const y = (v: number) => PLOT.bottom - ((PLOT.bottom - PLOT.top) * v) / top;
  const out = [`<g transform="translate(0 ${offsetY})">`, `<text x="${(PLOT.left + PLOT.right) / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(p.title)}</text>`];
  for (let v = 0; v <= top + 1e-9; v += yStep) {
    out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${PLOT.left - 8}" y="${y(v).toFixed(1)}" dy="4" text-anchor="end">${Number(v.toPrecision(6))}</text>`);
  }
  const xStep = niceStep(xMax, 8);
  for (let v = 0; v <= xMax + 1e-9; v += xStep) {
    out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x(v).toFixed(1)}" y="${PLOT.bottom + 16}" text-anchor="middle">${Number(v.toPrecision(6))}</text>`);
  }
  out.push(
    `<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(p.yLabel)}</text>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 34}" text-anchor="middle">minutes</text>`,
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888"/>`,
  );
  p.series.forEach((s, index) => {
    const key = s.colorOf ?? s.label;
    const color = colors.get(key) ?? PALETTE[colors.size % PALETTE.length];
    colors.set(key, color);
    const points = s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="${s.dashed ? 1.5 : 2}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    const legendY = PLOT.top + 8 + index * 18;
    out.push(
      `<line x1="${PLOT.right + 12}" x2="${PLOT.right + 36}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${PLOT.right + 42}" y="${legendY}" dy="4">${escapeXml(s.label)}</text>`,
    );
  });
  out.push('</g>');
  return out;
}

export function timeSeriesPlot(title: string, panels: Panel[]): string {
  const xMax = Math.max(0.1, ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x))));
  const height = 36 + panels.length * PANEL_HEIGHT;
  const colors = new Map<string, string>();
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  panels.forEach((p, i) => out.push(...panel(p, xMax, 30 + i * PANEL_HEIGHT, colors)));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
