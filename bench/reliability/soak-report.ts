// The soak run's figures, pure: memory samples per process role, the slope of memory after warm-up
// (the last two thirds of the run), and the verdict against a threshold.
//
// The verdict reads the floor of each process's RSS, not every sample. Between two collections V8
// lets dead Buffers pile up, and between two trims (proxy/allocator/, every 10 s) glibc keeps the
// pages they freed: a worker's RSS is a sawtooth 40-60 MB deep, and a line fitted through samples
// taken at 10 s reads the phase they happened to land on as much as any trend. Memory a process
// can give back comes and goes; memory it keeps raises the lowest sample of every stretch of time.

export interface MemorySample {
  /** Minutes since the traffic started. */
  minutes: number;
  primaryRssMb: number;
  /** Per worker slot (1, 2, ...): RSS, V8 heap in use and committed, memory outside the heap held by JS objects (Buffers), event-loop delay p99 since the last sample. */
  workers: { pid: number; rssMb: number; heapMb: number; heapTotalMb: number; externalMb: number; loopP99Ms: number; loopMaxMs: number }[];
  /** The warm spare worker and any other child. */
  otherRssMb: number;
  requests: number;
  failed: number;
}

export function totalRssMb(s: MemorySample): number {
  return s.primaryRssMb + s.workers.reduce((sum, w) => sum + w.rssMb, 0) + s.otherRssMb;
}

/** Least-squares slope of y over x, and its intercept. */
export function leastSquares(points: readonly [number, number][]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, intercept: points[0]?.[1] ?? 0 };
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** The samples after warm-up: the last two thirds. */
export function afterWarmup<T>(samples: readonly T[]): T[] {
  return samples.slice(Math.floor(samples.length / 3));
}

/** How many equal stretches of time the samples after warm-up are cut into for their floors. */
export const FLOOR_WINDOWS = 6;

/**
 * The floor of a series: its lowest value in each of `windows` equal stretches of time between
 * `start` and `end`, placed at the stretch's middle. Stretches without a sample are left out.
 */
export function floors(points: readonly [number, number][], start: number, end: number, windows = FLOOR_WINDOWS): [number, number][] {
  const width = (end - start) / windows;
  if (!(width > 0)) return [...points];
  const lowest: (number | undefined)[] = new Array(windows).fill(undefined);
  for (const [x, y] of points) {
    const i = Math.min(windows - 1, Math.max(0, Math.floor((x - start) / width)));
    if (lowest[i] === undefined || y < lowest[i]!) lowest[i] = y;
  }
  const out: [number, number][] = [];
  lowest.forEach((y, i) => {
    if (y !== undefined) out.push([start + width * (i + 0.5), y]);
  });
  return out;
}

export interface SlopeVerdict {
  /** MB per hour of the floors after warm-up (the sum of the processes' floors), which the verdict reads. */
  floorTotalMbPerHour: number;
  floorWorkersMbPerHour: number[];
  /** The floors of the total: one point per stretch, for the plot. */
  floorTotal: [number, number][];
  /** Minutes per stretch of the floors. */
  floorWindowMinutes: number;
  /** Least squares through every sample after warm-up, per series: shown, not judged. */
  totalMbPerHour: number;
  workersMbPerHour: number[];
  primaryMbPerHour: number;
  heapMbPerHour: number[];
  thresholdMbPerHour: number;
  flat: boolean;
  samplesUsed: number;
}

export function slopeVerdict(samples: readonly MemorySample[], thresholdMbPerHour: number): SlopeVerdict {
  const used = afterWarmup(samples);
  const perHour = (points: readonly [number, number][]) => leastSquares(points).slope * 60;
  const slots = Math.max(0, ...used.map((s) => s.workers.length));
  const workerRss = (i: number): [number, number][] => used.filter((s) => s.workers[i]).map((s) => [s.minutes, s.workers[i].rssMb]);
  const workersMbPerHour = Array.from({ length: slots }, (_, i) => perHour(workerRss(i)));
  const heapMbPerHour = Array.from({ length: slots }, (_, i) => perHour(used.filter((s) => s.workers[i]).map((s) => [s.minutes, s.workers[i].heapMb])));
  const totalMbPerHour = perHour(used.map((s) => [s.minutes, totalRssMb(s)]));
  // Too few samples for stretches of several each: the floors are the samples themselves.
  const windows = used.length >= 3 * FLOOR_WINDOWS ? FLOOR_WINDOWS : used.length;
  const start = used[0]?.minutes ?? 0;
  const end = used.at(-1)?.minutes ?? 0;
  const floorOf = (points: [number, number][]) => (windows === used.length ? points : floors(points, start, end, windows));
  const series: [number, number][][] = [
    used.map((s) => [s.minutes, s.primaryRssMb]),
    used.map((s) => [s.minutes, s.otherRssMb]),
    ...Array.from({ length: slots }, (_, i) => workerRss(i)),
  ];
  const seriesFloors = series.map(floorOf);
  // The total's floor is the sum of the processes' own: each trims on its own clock.
  // A stretch some process has no sample in (a worker being replaced) is left out.
  const floorTotal: [number, number][] = [];
  for (const [x] of seriesFloors[0]) {
    const values = seriesFloors.map((f) => f.find(([fx]) => fx === x)?.[1]);
    if (values.every((v) => v !== undefined)) floorTotal.push([x, values.reduce((sum: number, v) => sum + v!, 0)]);
  }
  const floorTotalMbPerHour = perHour(floorTotal);
  return {
    floorTotalMbPerHour,
    floorWorkersMbPerHour: seriesFloors.slice(2).map(perHour),
    floorTotal,
    floorWindowMinutes: windows === 0 ? 0 : (end - start) / windows,
    totalMbPerHour,
    workersMbPerHour,
    primaryMbPerHour: perHour(used.map((s) => [s.minutes, s.primaryRssMb])),
    heapMbPerHour,
    thresholdMbPerHour,
    flat: floorTotalMbPerHour <= thresholdMbPerHour,
    samplesUsed: used.length,
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
