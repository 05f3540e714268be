// The load generator, run in its own process so it never shares an event loop with the upstream
// or a proxy. HTTP scenarios use wrk (a child of this process, so it inherits its CPU pinning) or
// autocannon (in this process), as generator.ts decides; the TCP scenario reads streams with plain
// sockets. With autocannon and sockets one connection set serves warm-up then measurement; wrk
// warms up in a run of its own, then measures in a second one (the proxy's upstream pools stay
// warm, the client connections are new). Only the measured window is counted, and the proxy's CPU
// time is read from /proc at its two ends.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { generatorFor, h2loadBinary, wrkBinary, type GeneratorUsed, type LoadGeneratorName } from './generator.ts';
import { checkH2loadSummary, h2loadResult, latencyFromLog, runH2load } from './h2load.ts';
import { cpuDelta, sampleProcesses, type ProcSample } from './proc-stats.ts';
import {
  ATTEMPT_HEADER,
  ROUTES_PER_HOST,
  VIRTUAL_HOSTS,
  routePrefix,
  scenarioByName,
  virtualHostName,
  type HttpLoad,
} from './scenarios.ts';
import { runWrk, wrkResult, wrkScript } from './wrk.ts';

export interface LoadConfig {
  /** http://127.0.0.1:PORT for HTTP scenarios, tcp://127.0.0.1:PORT for TCP. */
  url: string;
  scenario: string;
  /** The generator asked for; generatorFor() says what runs this scenario. */
  generator: LoadGeneratorName;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Root pids of the proxy under test, for CPU and memory. */
  watchPids: number[];
}

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  type: 'result';
  generator: GeneratorUsed;
  seconds: number;
  /** Completed responses (HTTP only). */
  requests: number;
  /** Successful responses: 2xx (autocannon), status below 400 (wrk, which tells no finer). */
  ok: number;
  /** Bytes received, headers included. */
  bytes: number;
  /** Per status code (autocannon); '<400' and '>=400' (wrk). */
  statusCounts: Record<string, number>;
  /** Connection errors and timeouts (non-2xx responses are in requests - ok). */
  errors: number;
  latencyMs?: LatencyMs;
  /** The latency histogram in microseconds, hdr-histogram compressed base64 (autocannon only). */
  latencyHistogram?: string;
  /** Proxy CPU seconds spent in the measured window; memory at its end. */
  proc?: ProcSample;
}

/** The parts of autocannon 9's client that pacing and counting hook into. */
interface AutocannonClient {
  destroyed: boolean;
  _doRequest(): void;
  pipelinedRequests: {
    terminateRequest(): { headers: { statusCode: number }; bytes: number; duration: number } | undefined;
    addBody(data: Buffer): void;
  };
}

// The measured window: what completes inside it, and the proxy's CPU time across it.
class MeasuredWindow {
  recording = false;
  startedAt = 0;
  seconds = 0;
  requests = 0;
  bytes = 0;
  errors = 0;
  statusCounts: Record<string, number> = {};
  histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  #procStart: ProcSample | undefined;
  #procEnd: ProcSample | undefined;
  readonly #watch: number[];

  constructor(watch: number[]) {
    this.#watch = watch;
  }

  open(): void {
    if (this.#watch.length > 0) this.#procStart = sampleProcesses(this.#watch);
    this.startedAt = performance.now();
    this.recording = true;
  }

  close(): void {
    this.recording = false;
    this.seconds = (performance.now() - this.startedAt) / 1000;
    if (this.#watch.length > 0) this.#procEnd = sampleProcesses(this.#watch);
  }

  proc(): ProcSample | undefined {
    if (!this.#procStart || !this.#procEnd) return undefined;
    return cpuDelta(this.#procStart, this.#procEnd);
  }

  result(generator: GeneratorUsed, withLatency: boolean): LoadResult {
    const h = this.histogram;
    const ms = (us: number) => us / 1000;
    const ok = Object.entries(this.statusCounts)
      .filter(([code]) => code.startsWith('2'))
      .reduce((sum, [, n]) => sum + n, 0);
    return {
      type: 'result',
      generator,
      seconds: this.seconds,
      requests: this.requests,
      ok,
      bytes: this.bytes,
      statusCounts: this.statusCounts,
      errors: this.errors,
      ...(withLatency && h.totalCount > 0
        ? {
            latencyMs: {
              p50: ms(h.getValueAtPercentile(50)),
              p90: ms(h.getValueAtPercentile(90)),
              p99: ms(h.getValueAtPercentile(99)),
              p999: ms(h.getValueAtPercentile(99.9)),
              max: ms(h.maxValue),
              mean: ms(h.mean),
            },
            latencyHistogram: hdr.encodeIntoCompressedBase64(h),
          }
        : {}),
      proc: this.proc(),
    };
  }
}

function requestSetup(load: HttpLoad): ((request: { path?: string; headers?: Record<string, string> }) => object) | undefined {
  let sequence = 0;
  if (load.rotateVirtualHosts) {
    // Walk every host; the route changes every full walk, so all 10 000 pairs get traffic.
    return (request) => {
      const n = sequence++;
      const host = n % VIRTUAL_HOSTS;
      const route = Math.floor(n / VIRTUAL_HOSTS) % ROUTES_PER_HOST;
      return { ...request, path: `${routePrefix(route)}/item`, headers: { ...request.headers, host: virtualHostName(host) } };
    };
  }
  if (load.attemptKey) {
    return (request) => ({ ...request, headers: { ...request.headers, [ATTEMPT_HEADER]: `${process.pid}-${sequence++}` } });
  }
  return undefined;
}

/** Space each connection's requests evenly so the total is `rate` per second, staggered. */
function pace(client: AutocannonClient, index: number, connections: number, rate: number): void {
  const send = client._doRequest.bind(client);
  const intervalMs = (connections / rate) * 1000;
  let nextAt = performance.now() + (index * intervalMs) / connections;
  client._doRequest = () => {
    const now = performance.now();
    const at = Math.max(nextAt, now);
    nextAt = at + intervalMs;
    setTimeout(() => {
      if (!client.destroyed) send();
    }, at - now);
  };
}

async function httpLoad(config: LoadConfig, load: HttpLoad): Promise<LoadResult> {
  const window = new MeasuredWindow(config.watchPids);
  let clients = 0;
  const setup = requestSetup(load);
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const instance = autocannon(
    {
      url: config.url + load.path,
      method: load.method,
      connections: config.connections,
      // Stopped by us at the end of the window; this is only a backstop.
      duration: config.warmupSeconds + config.durationSeconds + 10,
      sampleInt: 100,
      timeout: 10,
      ...(load.bodyBytes ? { body: Buffer.alloc(load.bodyBytes, 'p'), headers: { 'content-type': 'application/octet-stream' } } : {}),
      ...(load.newConnectionPerRequest ? { reconnectRate: 1 } : {}),
      ...(setup ? { requests: [{ setupRequest: setup }] } : {}),
      setupClient(raw) {
        const client = raw as AutocannonClient;
        const queue = client.pipelinedRequests;
        if (typeof queue?.terminateRequest !== 'function' || typeof client._doRequest !== 'function') {
          throw new Error('autocannon internals changed: bench/loadgen.ts needs updating');
        }
        // Count every completed response here: autocannon's own counters skip the response
        // that triggers a reconnect, which is every response when reconnectRate is 1.
        const terminate = queue.terminateRequest.bind(queue);
        queue.terminateRequest = () => {
          const response = terminate();
          if (response && window.recording) {
            window.requests++;
            window.bytes += response.bytes;
            const code = String(response.headers.statusCode);
            window.statusCounts[code] = (window.statusCounts[code] ?? 0) + 1;
            window.histogram.recordValue(Math.max(1, Math.round(response.duration * 1000)));
          }
          return response;
        };
        // Bodies are not checked: skip autocannon's string concatenation of every body.
        queue.addBody = () => {};
        if (load.rate) pace(client, clients++, config.connections, load.rate);
      },
    },
    () => finish(),
  );
  instance.on('reqError', () => {
    if (window.recording) window.errors++;
  });
  await sleep(config.warmupSeconds * 1000);
  window.open();
  await sleep(config.durationSeconds * 1000);
  window.close();
  instance.stop();
  await finished;
  return window.result('autocannon', true);
}

async function wrkLoad(config: LoadConfig, load: HttpLoad): Promise<LoadResult> {
  const binary = wrkBinary();
  if (!binary) throw new Error('wrk not found on PATH');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-wrk-'));
  try {
    const run = async (phase: string, seconds: number) => {
      const scriptFile = path.join(dir, `${phase}.lua`);
      fs.writeFileSync(scriptFile, wrkScript(load, `${process.pid}-${phase}-`));
      return runWrk({ binary, url: config.url + load.path, connections: config.connections, seconds, scriptFile });
    };
    await run('warmup', config.warmupSeconds);
    // The proxy's CPU time from just before wrk starts to just after it exits.
    const window = new MeasuredWindow(config.watchPids);
    window.open();
    const { summary } = await run('measure', config.durationSeconds);
    window.close();
    return wrkResult(summary, window.proc());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function h2Load(config: LoadConfig, load: HttpLoad, tls: boolean): Promise<LoadResult> {
  const binary = h2loadBinary();
  if (!binary) throw new Error('h2load not found on PATH');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-h2load-'));
  try {
    // Warm-up and measurement in one h2load run (see h2load.ts); the CPU window follows its phases.
    const window = new MeasuredWindow(config.watchPids);
    const logFile = path.join(dir, 'requests.log');
    const summary = await runH2load({
      binary,
      url: config.url + load.path,
      connections: config.connections,
      warmupSeconds: config.warmupSeconds,
      seconds: config.durationSeconds,
      logFile,
      onMainStarted: () => window.open(),
      onMainOver: () => window.close(),
    });
    checkH2loadSummary(summary, tls ? 'h2' : 'h2c');
    return h2loadResult(summary, latencyFromLog(fs.readFileSync(logFile, 'utf8')), window.proc());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function tcpLoad(config: LoadConfig, connections: number): Promise<LoadResult> {
  const { hostname, port } = new URL(config.url);
  const window = new MeasuredWindow(config.watchPids);
  const sockets: net.Socket[] = [];
  for (let i = 0; i < connections; i++) {
    const socket = net.connect({ host: hostname, port: Number(port), noDelay: true });
    socket.on('data', (chunk: Buffer) => {
      if (window.recording) window.bytes += chunk.length;
    });
    const lost = () => {
      if (window.recording) window.errors++;
    };
    socket.on('error', lost);
    socket.on('end', lost);
    sockets.push(socket);
  }
  await sleep(config.warmupSeconds * 1000);
  window.open();
  await sleep(config.durationSeconds * 1000);
  window.close();
  for (const socket of sockets) socket.destroy();
  return window.result('node-sockets', false);
}

const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const scenario = scenarioByName(config.scenario);
const generator = generatorFor(scenario, config.generator);
try {
  const result =
    generator === 'node-sockets'
      ? await tcpLoad(config, scenario.connections ?? config.connections)
      : generator === 'h2load'
        ? await h2Load(config, scenario.http as HttpLoad, scenario.tls === true)
        : generator === 'wrk'
          ? await wrkLoad(config, scenario.http as HttpLoad)
          : await httpLoad(config, scenario.http as HttpLoad);
  process.send?.(result, () => process.exit(0));
} catch (error) {
  // One line, last: the bench quotes the tail of what the load generator printed.
  console.error(`loadgen (${generator}): ${error instanceof Error ? error.message : String(error)}`.replace(/\s*\n\s*/g, ' | '));
  process.exit(1);
}
