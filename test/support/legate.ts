// Starts Legate in this process (one worker, as `legate run --workers 1`) from a bootstrap given as
// an object; listeners and admin bind port 0 and the test reads the ports back.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Primary } from '../../proxy/server/index.ts';

export interface RunningLegate {
  primary: Primary;
  /** The bound port of a listener by name (the first listener when no name is given). */
  port(listener?: string): number;
  url(path: string, listener?: string): string;
  adminUrl(path: string): string;
  configPath: string;
  stop(): Promise<void>;
}

export interface LaunchedLegate extends RunningLegate {
  /** Settles when primary.start() does: with dynamic resources, once the first config is applied. */
  started: Promise<void>;
}

type LegateOptions = { mode?: 'ingress' | 'sidecar'; log?: (line: string) => void };

export async function startLegate(bootstrap: object, opts: LegateOptions = {}): Promise<RunningLegate> {
  const legate = launchLegate(bootstrap, opts);
  try {
    await legate.started;
  } catch (err) {
    await legate.stop().catch(() => undefined);
    throw err;
  }
  return legate;
}

/** Starts Legate without waiting for it to be ready (its admin is up once primary.admin is set). */
export function launchLegate(bootstrap: object, opts: LegateOptions = {}): LaunchedLegate {
  const dir = mkdtempSync(join(tmpdir(), 'legate-test-'));
  const configPath = join(dir, 'bootstrap.json');
  writeFileSync(configPath, JSON.stringify(bootstrap));
  const primary = new Primary({ configPath, workers: 1, mode: opts.mode ?? 'ingress', drainTimeMs: 1000, reusePort: false, log: opts.log ?? (() => {}) });
  const port = (name?: string) => {
    const bound = primary.applied?.listeners ?? [];
    const l = name === undefined ? bound[0] : bound.find((b) => b.name === name);
    if (l === undefined) throw new Error(`no listener ${name ?? ''}`);
    return l.port;
  };
  return {
    primary,
    started: primary.start(),
    port,
    url: (path, listener) => `http://127.0.0.1:${port(listener)}${path}`,
    adminUrl: (path) => `http://127.0.0.1:${primary.admin!.address().port}${path}`,
    configPath,
    stop: async () => {
      await primary.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
