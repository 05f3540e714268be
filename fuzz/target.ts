// The system under test for the network fuzzers: `legate run --workers 1` as a child process (so
// a crash is its exit, not the fuzzer's) in front of the recording upstream. The one listener
// speaks HTTP/1 and HTTP/2 (codec_type AUTO) and adds x-fuzz-conn, the downstream connection's
// source port, to every request it forwards, so upstream arrivals are matched to connections.
import http from 'node:http';
import { bootstrap, httpListener, routes, staticCluster } from '../test/support/bootstrap.ts';
import { spawnLegate, type LegateProcess } from '../test/support/legate-process.ts';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';

export interface Target {
  upstream: RecordingUpstream;
  legate: LegateProcess;
  port(): number;
  /** The child's exit, when it exited (a crash unless we stopped it). */
  exited(): string | undefined;
  /** Its last lines of log, for a crash report. */
  lastLog(): string;
  /** A plain GET through a fresh connection: '' when it got 200, else what went wrong. */
  alive(): Promise<string>;
  /** Stops the child and starts a new one (after a crash). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function config(upstreamPort: number) {
  const routeConfig = routes([{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '5s' } }], {
    request_headers_to_add: [{ header: { key: 'x-fuzz-conn', value: '%DOWNSTREAM_REMOTE_PORT%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
  });
  return bootstrap([httpListener('fuzz', routeConfig)], [staticCluster('up', [{ port: upstreamPort }])]);
}

export async function startTarget(): Promise<Target> {
  const upstream = await startRecordingUpstream();
  let legate = await spawnLegate(config(upstream.port));
  let exit: string | undefined;
  let stopping = false;
  const watch = (child: LegateProcess) => void child.exited.then(({ code, signal }) => {
    if (child === legate && !stopping) exit = `exited with ${signal ?? code}`;
  });
  watch(legate);
  return {
    upstream,
    get legate() {
      return legate;
    },
    port: () => legate.port('fuzz'),
    exited: () => exit,
    lastLog: () => legate.stderrLines.slice(-30).join('\n'),
    alive: () => alive(legate.port('fuzz')),
    restart: async () => {
      const old = legate;
      legate = await spawnLegate(config(upstream.port));
      exit = undefined;
      watch(legate);
      await old.stop('SIGKILL');
    },
    stop: async () => {
      stopping = true; // its exit is not a crash
      await legate.stop('SIGKILL');
      await upstream.close();
    },
  };
}

function alive(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/fuzz-alive', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode === 200 ? '' : `status ${res.statusCode}`));
      res.once('error', (err) => resolve(`response error: ${err.message}`));
    });
    req.once('timeout', () => {
      req.destroy();
      resolve('no answer within 5 s');
    });
    req.once('error', (err) => resolve(`request error: ${err.message}`));
  });
}
