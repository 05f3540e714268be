// Runs in a worker thread: validates one bootstrap file per message as `legate validate` does
// (proxy/cli.ts: loadBootstrap, the rate limit service's files, then the files the bootstrap
// names) and reports how it ended. A worker, so the fuzzer can bound a call's time and survive a
// stack overflow.
import { parentPort } from 'node:worker_threads';
import { ConfigError, loadBootstrap } from '../../proxy/config/index.ts';
import { checkRateLimitService } from '../../proxy/ratelimit/index.ts';
import { checkConfigFiles } from '../../proxy/server/config-files.ts';

export interface ValidateRequest {
  id: number;
  file: string;
}

export interface ValidateResult {
  id: number;
  /** accepted; rejected with ConfigError lines; or threw something else. */
  outcome: 'accepted' | 'rejected' | 'threw';
  /** What the user would read (problem lines), or the stack of an unexpected exception. */
  lines: string[];
}

function validate(file: string): Omit<ValidateResult, 'id'> {
  try {
    const boot = loadBootstrap(file);
    if (boot.rateLimitService !== undefined) checkRateLimitService(boot.rateLimitService);
    const files = checkConfigFiles(boot);
    return files.problems.length > 0 ? { outcome: 'rejected', lines: files.problems } : { outcome: 'accepted', lines: [] };
  } catch (err) {
    if (err instanceof ConfigError) return { outcome: 'rejected', lines: [err.message] };
    const e = err as Error;
    return { outcome: 'threw', lines: [`${e?.name ?? typeof err}: ${e?.stack ?? String(err)}`] };
  }
}

parentPort?.on('message', (request: ValidateRequest) => {
  const result: ValidateResult = { id: request.id, ...validate(request.file) };
  parentPort!.postMessage(result);
});
