// A runtime fractional percent decided for one request: Legate has no runtime, so the configured
// default is the share of requests for which a feature is on.
export function chance(percent: number): boolean {
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
}
