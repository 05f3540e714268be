// Where access log lines go: stdout, stderr or a file. Lines are buffered and written in batches,
// asynchronously (never a write call per request): like Envoy's access log files, a batch goes
// out when 64 KiB are pending or after the flush interval (1 s). The buffer is bounded; past the
// bound lines are dropped and counted rather than growing memory while the disk stalls. Each
// destination is one shared sink per process, however many loggers use it.
import { resolve } from 'node:path';
import type { AccessLog } from '../config/model.ts';

// Not ESM imports: those read every export of node:fs and node:util, loading what lazy ones need.
const { close, open, openSync, write } = process.getBuiltinModule('node:fs');
const { promisify } = process.getBuiltinModule('node:util');

export interface SinkOptions {
  /** Longest a line waits before it is written (Envoy's file_flush_interval_msec); 1000. */
  flushIntervalMs?: number;
  /** Most characters held while writes are slow; further lines are dropped. 16 MiB. */
  maxBufferBytes?: number;
}

export interface AccessLogSink {
  write(line: string): void;
  /** Resolves once every line written so far is out. */
  flush(): Promise<void>;
  /** Gives the sink up; the last user flushes it and closes its file. */
  release(): Promise<void>;
  /** Lines dropped because the buffer was full. */
  readonly dropped: number;
}

const FLUSH_SIZE = 64 * 1024;

interface Output {
  /** Writes all of data; must always return a promise (async), never throw. */
  write(data: string): Promise<void>;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

class BufferedOutput {
  readonly output: Output;
  readonly #label: string;
  readonly #flushIntervalMs: number;
  readonly #maxBuffer: number;
  #chunks: string[] = [];
  #size = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #failing = false;
  dropped = 0;

  constructor(output: Output, label: string, options: SinkOptions) {
    this.output = output;
    this.#label = label;
    // Envoy's --file-flush-interval-msec, when `legate` was started with Envoy's flags.
    this.#flushIntervalMs = options.flushIntervalMs ?? (Number(process.env.LEGATE_FILE_FLUSH_INTERVAL_MS) || 1000);
    this.#maxBuffer = options.maxBufferBytes ?? 16 * 1024 * 1024;
  }

  write(line: string): void {
    if (this.#size + line.length > this.#maxBuffer) {
      this.dropped++;
      return;
    }
    this.#chunks.push(line);
    this.#size += line.length;
    if (this.#size >= FLUSH_SIZE) {
      // A write in flight picks the new lines up when it finishes.
      if (this.#running === undefined) void this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#flushIntervalMs);
      this.#timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // Lines may arrive after a running drain checked for more: flush again once it is done.
    if (this.#running !== undefined) return this.#running.then(() => this.flush());
    if (this.#chunks.length === 0) return Promise.resolve();
    const run = this.#drain();
    this.#running = run;
    return run;
  }

  // Always awaits at least once before clearing #running, so flush() sets it first.
  async #drain(): Promise<void> {
    try {
      while (this.#chunks.length > 0) {
        const data = this.#chunks.length === 1 ? this.#chunks[0] : this.#chunks.join('');
        this.#chunks = [];
        this.#size = 0;
        try {
          await this.output.write(data);
          this.#failing = false;
        } catch (err) {
          // Report once per run of failures; the lines of a failed write are lost.
          if (!this.#failing) process.stderr.write(`legate: access log ${this.#label}: ${(err as Error).message}\n`);
          this.#failing = true;
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}

const writeAsync = promisify(write);
const openAsync = promisify(open);
const closeAsync = promisify(close);

class FileOutput implements Output {
  readonly path: string;
  #fd: number;
  // Writes, reopen and close run one at a time, so the fd never changes under a write.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
    try {
      // Opened at config time so a bad path fails the config, not the first request.
      this.#fd = openSync(path, 'a');
    } catch (err) {
      throw new Error(`access log file ${path}: cannot open for appending: ${(err as Error).message}`);
    }
  }

  write(data: string): Promise<void> {
    return this.#serial(async () => {
      const buf = Buffer.from(data);
      let offset = 0;
      while (offset < buf.length) offset += (await writeAsync(this.#fd, buf, offset, buf.length - offset, null)).bytesWritten;
    });
  }

  /** Log rotation: the file was moved away; start a new one at the path. */
  reopen(): Promise<void> {
    return this.#serial(async () => {
      const fd = await openAsync(this.path, 'a');
      const old = this.#fd;
      this.#fd = fd;
      await closeAsync(old);
    });
  }

  close(): Promise<void> {
    return this.#serial(() => closeAsync(this.#fd));
  }

  #serial(op: () => Promise<void>): Promise<void> {
    const p = this.#queue.then(op);
    this.#queue = p.catch(() => undefined);
    return p;
  }
}

class StreamOutput implements Output {
  readonly #stream: NodeJS.WriteStream;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
  }

  async write(data: string): Promise<void> {
    await new Promise<void>((done, fail) => this.#stream.write(data, (err) => (err ? fail(err) : done())));
  }

  async reopen(): Promise<void> {}

  async close(): Promise<void> {}
}

interface Shared {
  buffer: BufferedOutput;
  refs: number;
}

const shared = new Map<string, Shared>();

/** The process's sink for this destination, created on first use. */
export function acquireSink(spec: AccessLog['sink'], options: SinkOptions = {}): AccessLogSink {
  const key = spec.kind === 'file' ? 'file:' + resolve(spec.path) : spec.kind;
  let entry = shared.get(key);
  if (entry === undefined) {
    const output =
      spec.kind === 'file' ? new FileOutput(spec.path) : new StreamOutput(spec.kind === 'stdout' ? process.stdout : process.stderr);
    entry = { buffer: new BufferedOutput(output, spec.kind === 'file' ? spec.path : spec.kind, options), refs: 0 };
    shared.set(key, entry);
  }
  entry.refs++;
  const buffer = entry.buffer;
  const owner = entry;
  let released = false;
  return {
    write: (line) => buffer.write(line),
    flush: () => buffer.flush(),
    get dropped() {
      return buffer.dropped;
    },
    async release() {
      if (released) return;
      released = true;
      owner.refs--;
      if (owner.refs > 0) return;
      if (shared.get(key) === owner) shared.delete(key);
      await buffer.flush();
      await buffer.output.close();
    },
  };
}

/** Reopens every access log file (log rotation, Envoy's /reopen_logs) after writing what is pending. */
export async function reopenFileSinks(): Promise<void> {
  await Promise.all(
    [...shared.values()].map(async (entry) => {
      await entry.buffer.flush();
      await entry.buffer.output.reopen();
    }),
  );
}

/** Writes out every sink's pending lines: at shutdown, so a drained request's log line is not lost. */
export async function flushAllSinks(): Promise<void> {
  await Promise.all([...shared.values()].map((entry) => entry.buffer.flush()));
}
