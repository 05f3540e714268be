// The soak run's figures, pure: memory samples per process role, the least-squares slope of memory
// after warm-up (the last two thirds of the run), and the verdict against a threshold.

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

export interface SlopeVerdict {
  /** MB per hour over the samples after warm-up, per series. */
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
  const perHour = (points: [number, number][]) => leastSquares(points).slope * 60;
  const slots = Math.max(0, ...used.map((s) => s.workers.length));
  const workersMbPerHour = Array.from({ length: slots }, (_, i) => perHour(used.filter((s) => s.workers[i]).map((s) => [s.minutes, s.workers[i].rssMb])));
  const heapMbPerHour = Array.from({ length: slots }, (_, i) => perHour(used.filter((s) => s.workers[i]).map((s) => [s.minutes, s.workers[i].heapMb])));
  const totalMbPerHour = perHour(used.map((s) => [s.minutes, totalRssMb(s)]));
  return {
    totalMbPerHour,
    workersMbPerHour,
    primaryMbPerHour: perHour(used.map((s) => [s.minutes, s.primaryRssMb])),
    heapMbPerHour,
    thresholdMbPerHour,
    flat: totalMbPerHour <= thresholdMbPerHour,
    samplesUsed: used.length,
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
