// One log line when the counter store starts failing and one when it answers again, however many
// requests fail in between: an outage under load must not become a log flood.

export class OutageLog {
  private failures = 0;
  private readonly what: string;
  private readonly log: (line: string) => void;

  constructor(what: string, log: (line: string) => void) {
    this.what = what;
    this.log = log;
  }

  failed(reason: string): void {
    if (this.failures++ === 0) {
      this.log(`ratelimit: ${this.what} is failing (${reason}); rate limit filters fail open unless failure_mode_deny is set`);
    }
  }

  succeeded(): void {
    if (this.failures === 0) return;
    this.log(`ratelimit: ${this.what} answers again after ${this.failures} failed request${this.failures === 1 ? '' : 's'}`);
    this.failures = 0;
  }
}
