// Keys known to be over their limit, until their window ends (envoyproxy/ratelimit's local
// cache). A fixed-window counter only grows within its window, so once a key is over the limit
// every further hit in that window is over too: answering it here spares Redis a flood.

export class OverLimitCache {
  private readonly until = new Map<string, number>(); // key -> end of its window (epoch ms)
  private nextSweepMs = 0;

  has(key: string, nowMs: number): boolean {
    const end = this.until.get(key);
    if (end === undefined) return false;
    if (end > nowMs) return true;
    this.until.delete(key);
    return false;
  }

  add(key: string, windowEndMs: number, nowMs: number): void {
    if (nowMs >= this.nextSweepMs) {
      for (const [k, end] of this.until) if (end <= nowMs) this.until.delete(k);
      this.nextSweepMs = nowMs + 1000;
    }
    this.until.set(key, windowEndMs);
  }
}
