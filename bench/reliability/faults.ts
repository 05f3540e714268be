// The chaos run's faults, in the order it applies them. Each acts on the rig, waits until the
// system has recovered (bounded), and says in one line what happened.
import { setTimeout as sleep } from 'node:timers/promises';
import type { LegateProcess } from '../../test/support/legate-process.ts';
import { churnShapes } from './config.ts';
import { workerPids, type Rig } from './rig.ts';

export interface Fault {
  name: string;
  run(rig: Rig): Promise<string>;
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`chaos: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** SIGKILLs one worker and waits until the primary has replaced it. */
async function killWorker(legate: LegateProcess): Promise<string> {
  const before = await workerPids(legate);
  const victim = before[0];
  const killedAt = Date.now();
  process.kill(victim, 'SIGKILL');
  await until(
    `worker ${victim} replaced`,
    async () => {
      const pids = await workerPids(legate).catch((): number[] => []);
      return pids.length === before.length && !pids.includes(victim) ? true : undefined;
    },
    10_000,
  );
  return `worker ${victim} replaced in ${Date.now() - killedAt} ms`;
}

/** Lines logged from index `from` on that match. */
async function logLine(legate: LegateProcess, from: number, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return until(`a log line ${pattern}`, () => legate.stderrLines.slice(from).find((l) => pattern.test(l)), timeoutMs);
}

export const FAULTS: Fault[] = [
  {
    name: 'worker-kill',
    async run(rig) {
      const notes = [await killWorker(rig.ads)];
      if (rig.static) notes.push(await killWorker(rig.static));
      return `SIGKILL: ${notes.join('; ')}`;
    },
  },
  {
    name: 'xds-pushes',
    async run(rig) {
      const base = rig.shape;
      const shapes = churnShapes(base, 20);
      // Spread over a few seconds, so that traffic runs through every intermediate config.
      for (const shape of shapes) {
        await rig.push(shape);
        await sleep(150);
      }
      await rig.push({ ...base, tag: undefined });
      return `${shapes.length} EDS+RDS pushes ACKed (weights, endpoints out and back, route /extra added and removed), then the first config again`;
    },
  },
  {
    name: 'control-plane-restart',
    async run(rig) {
      const streams = rig.xds.streamsOpened;
      await rig.xds.stop();
      await sleep(2000);
      await rig.xds.start();
      const restartedAt = Date.now();
      await until('the ADS stream to reopen', () => (rig.xds.streamsOpened > streams ? true : undefined), 20_000);
      const reconnectMs = Date.now() - restartedAt;
      await rig.push({ ...rig.shape, tag: 'after-restart' });
      return `killed 2 s; Legate reconnected ${reconnectMs} ms after the restart; a push after it ACKed`;
    },
  },
  {
    name: 'redis-outage',
    async run(rig) {
      await rig.redis.kill();
      await sleep(3000);
      await rig.redis.restart();
      await sleep(2000);
      return 'redis-server SIGKILLed, down 3 s, restarted empty';
    },
  },
  {
    name: 'sighup',
    async run(rig) {
      const notes: string[] = [];
      const adsFrom = rig.ads.stderrLines.length;
      rig.ads.child.kill('SIGHUP');
      notes.push(`ads: ${/SIGHUP ignored/.test(await logLine(rig.ads, adsFrom, /SIGHUP/)) ? 'ignored (dynamic bootstrap)' : 'reloaded'}`);
      const legate = rig.static;
      if (legate) {
        let from = legate.stderrLines.length;
        rig.writeStaticBootstrap({ ...rig.shape, weights: [1, 3, 1], tag: 'sighup-good' });
        legate.child.kill('SIGHUP');
        await logLine(legate, from, /reloaded /);
        await sleep(1000);
        from = legate.stderrLines.length;
        rig.writeStaticBootstrap('{"static_resources": {"listeners": [{"name": "broken", "address": 42}]}}');
        legate.child.kill('SIGHUP');
        await logLine(legate, from, /reload rejected/);
        notes.push('static: a good bootstrap reloaded, then a bad one rejected (the good one kept serving)');
      }
      await sleep(1000);
      return notes.join('; ');
    },
  },
  {
    name: 'upstream-failure',
    async run(rig) {
      await rig.hosts.fail(1);
      await sleep(3000);
      await rig.hosts.recover(1);
      await sleep(1000);
      return 'host 1 closed its listener and every connection for 3 s (refused), then listened again';
    },
  },
];
