// One configured access log: its filter, its compiled format and its sink, put together once per
// snapshot so logging a stream is a predicate, a format call and a buffered write.
import type { AccessLog } from '../config/model.ts';
import { compileFilter } from './filter.ts';
import { compileFormat } from './format.ts';
import { acquireSink, type SinkOptions } from './sinks.ts';
import type { StreamInfo } from './stream-info.ts';

export interface AccessLogger {
  log(info: StreamInfo): void;
  /** Flushes this logger's lines and gives its sink up. */
  close(): Promise<void>;
}

export function createAccessLogger(accessLog: AccessLog, options?: SinkOptions): AccessLogger {
  const format = compileFormat(accessLog.format);
  const filter = accessLog.filter === undefined ? undefined : compileFilter(accessLog.filter);
  // The sink last: nothing above can fail once a file is open.
  const sink = acquireSink(accessLog.sink, options);
  return {
    log(info) {
      if (filter === undefined || filter(info)) sink.write(format(info));
    },
    close: () => sink.release(),
  };
}
