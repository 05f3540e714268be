// One log line when the counter store starts failing and one when it is back, however many
// requests fail in between: an outage under load must not become a log flood. It is back once a
// request succeeds after a quiet second without failures, so a flapping store is one outage.

const QUIET_MS = 1000;

export class OutageLog {
  private failures = 0;
  private lastFailureMs = 0;
  private readonly what: string;
  private readonly log: (line: string) => void;

  constructor(what: string, log: (line: string) => void) {
    this.what = what;
    this.log = log;
  }

  failed(reason: string, nowMs: number): void {
    if (this.failures++ === 0) {
      this.log(`ratelimit: ${this.what} is failing (${reason}); rate limit filters fail open unless failure_mode_deny is set`);
    }
    this.lastFailureMs = nowMs;
  }

  succeeded(nowMs: number): void {
    if (this.failures === 0 || nowMs - this.lastFailureMs < QUIET_MS) return;
    this.log(`ratelimit: ${this.what} answers again after ${this.failures} failed request${this.failures === 1 ? '' : 's'}`);
    this.failures = 0;
  }
}
